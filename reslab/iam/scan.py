"""Find every AWS API call the repository's code makes, by reading it (``ast``), not running it.

Three kinds of caller, three scanners:

* Python (``reslab``, ``lambdas``, ``webapp``): boto3 client method calls. A call counts when its
  receiver resolves to a client of a known service: a name bound from a client-making call with a
  literal service (``rds = aws.client("rds", ev)``, ``self.s3 = ...``), a client-making call itself
  (``clients("rds", r).delete_db_snapshot(...)``), or a name that is the service's usual variable
  (``cfn``, ``sfn``, ``ec2``...). ``get_paginator("op")``/``get_waiter("w")`` and helpers handed a
  client plus an operation literal (``_pages(sfn, "list_state_machines", ...)``) count too, and so
  do the chaos plans' data rows ``Call("ec2", "DeleteNetworkAcl", {...})``.
* State machines (``statemachine/*.asl.json``): each Task's ``Resource`` (a function ARN or
  placeholder, ``lambda:invoke``, ``states:startExecution[.sync[:2]]``, ``aws-sdk:svc:action``...).
* Shell (``bootstrap/*.sh``): ``aws <service> <command>`` lines of the instance bootstrap.

A method call on something that is not a resolvable client but whose name is an operation of a
service the code uses is reported as *unresolved*: the coverage test fails on it, so a new way of
making clients cannot hide calls from the table.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.exceptions import DataNotFoundError

from reslab.iam.iamdb import service_model

#: The usual variable names of clients in this repository, beside the service names themselves.
CLIENT_ALIASES: dict[str, str] = {
    "cfn": "cloudformation",
    "cfn_s3": "s3",
    "sfn": "stepfunctions",
    "lam": "lambda",
    "sm": "secretsmanager",
    "asg": "autoscaling",
    "elb": "elbv2",
    "cw": "cloudwatch",
}
#: Functions and methods whose string argument names the service of the client they return.
CLIENT_MAKERS = frozenset({"client", "clients", "client_for", "_client"})
#: Data rows of the chaos plans: ``Call(service, Operation, params)``.
PLAN_ROW_CLASSES = frozenset({"Call"})
#: Methods of every botocore client that are not API operations.
CLIENT_HELPERS = frozenset({"get_paginator", "get_waiter", "can_paginate", "close"})
#: Receivers that are never AWS clients although their methods share an operation's name
#: (Flask's Jinja environment has ``get_template``, like CloudFormation).
NOT_CLIENTS = frozenset({"jinja_env"})
#: High-level AWS CLI commands of the shell scripts -> the API operation they make.
CLI_COMMANDS: dict[tuple[str, str], tuple[str, str]] = {
    ("s3", "cp"): ("s3", "GetObject"),
}


@dataclass(frozen=True, order=True)
class ApiCall:
    """One AWS API operation some code calls: boto3 service name and API operation name."""

    service: str
    operation: str


@dataclass(frozen=True, order=True)
class TaskResource:
    """One kind of Task ``Resource`` a state machine uses, e.g. ``lambda:invoke`` or
    ``states:startExecution.sync:2``; ``function`` for a Lambda function ARN (or placeholder)."""

    integration: str


@dataclass
class ScanResult:
    calls: dict[ApiCall, list[str]] = field(default_factory=dict)  # -> where ("path:line")
    unresolved: dict[str, list[str]] = field(default_factory=dict)  # method -> where
    tasks: dict[TaskResource, list[str]] = field(default_factory=dict)

    def add_call(self, call: ApiCall, where: str) -> None:
        self.calls.setdefault(call, []).append(where)

    def add_task(self, task: TaskResource, where: str) -> None:
        self.tasks.setdefault(task, []).append(where)


# --- botocore service models -----------------------------------------------------------------
@functools.cache
def available_services() -> frozenset[str]:
    return frozenset(_session_loader().list_available_services("service-2"))


def _session_loader() -> Any:
    return botocore.session.get_session().get_component("data_loader")


@functools.cache
def operations_of(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name, for one boto3 service."""
    return {xform_name(op): op for op in service_model(service).operation_names}


@functools.cache
def waiter_operations(service: str) -> dict[str, str]:
    """snake_case waiter name -> the API operation it polls."""
    try:
        model = _session_loader().load_service_model(service, "waiters-2")
    except DataNotFoundError:  # a service without waiters
        return {}
    return {xform_name(name): w["operation"] for name, w in model.get("waiters", {}).items()}


# --- Python ---------------------------------------------------------------------------------
def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _client_service(node: ast.AST) -> str | None:
    """The service of a client-making call (``x.client("rds")``, ``clients("s3", r)``...)."""
    if not isinstance(node, ast.Call) or _callee_name(node) not in CLIENT_MAKERS:
        return None
    literals = [_literal(a) for a in node.args] + [
        _literal(k.value) for k in node.keywords if k.arg in ("service", "service_name")
    ]
    services = [s for s in literals if s in available_services()]
    return services[0] if services else None


def _target_key(node: ast.AST) -> str | None:
    """A binding's key: ``rds`` for a name, ``self.s3`` for an attribute of a name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


class _PythonScanner(ast.NodeVisitor):
    def __init__(self, where: str, result: ScanResult, used: frozenset[str]) -> None:
        self.where = where
        self.result = result
        self.used = used
        self.scopes: list[dict[str, str]] = [{}]
        self.class_bindings: dict[str, str] = {}
        self.modules: set[str] = set()  # imported names: ``actions.terminate_instances`` is ours

    def visit_Import(self, node: ast.Import) -> None:
        self.modules.update((a.asname or a.name).split(".")[0] for a in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.modules.update(a.asname or a.name for a in node.names)

    # bindings ---------------------------------------------------------------------------------
    def _bind(self, target: ast.AST, service: str) -> None:
        key = _target_key(target)
        if key is None:
            return
        if key.startswith("self."):
            self.class_bindings[key] = service
        self.scopes[-1][key] = service

    def resolve(self, node: ast.AST) -> str | None:
        direct = _client_service(node)
        if direct:
            return direct
        key = _target_key(node)
        if key is None:
            return None
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        if key in self.class_bindings:
            return self.class_bindings[key]
        if key in self.modules:
            return None
        name = key.rsplit(".", 1)[-1].removesuffix("_client")
        if name in available_services():
            return name
        return CLIENT_ALIASES.get(name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        saved = self.class_bindings
        self.class_bindings = {}
        # bindings made in any method (``self.s3 = ...`` in __init__) hold in every method
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                service = _client_service(sub.value)
                for target in sub.targets if service else []:
                    key = _target_key(target)
                    if key and key.startswith("self."):
                        self.class_bindings[key] = service  # type: ignore[assignment]
        self.generic_visit(node)
        self.class_bindings = saved

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append({})
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Assign(self, node: ast.Assign) -> None:
        service = _client_service(node.value)
        if service:
            for target in node.targets:
                self._bind(target, service)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        service = _client_service(node.value) if node.value else None
        if service:
            self._bind(node.target, service)
        self.generic_visit(node)

    # calls ------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        here = f"{self.where}:{node.lineno}"
        self._plan_row(node, here)
        if isinstance(node.func, ast.Attribute):
            self._method_call(node, node.func, here)
        self._operation_literals(node, here)
        self.generic_visit(node)

    def _plan_row(self, node: ast.Call, here: str) -> None:
        if _callee_name(node) not in PLAN_ROW_CLASSES or len(node.args) < 2:
            return
        service, operation = _literal(node.args[0]), _literal(node.args[1])
        known = service in available_services() and operation
        if known and operation in operations_of(service).values():  # type: ignore[arg-type]
            self.result.add_call(ApiCall(service, operation), here)  # type: ignore[arg-type]

    def _method_call(self, node: ast.Call, func: ast.Attribute, here: str) -> None:
        method = func.attr
        service = self.resolve(func.value)
        if service is not None:
            ops = operations_of(service)
            if method in ops:
                self.result.add_call(ApiCall(service, ops[method]), here)
                return
            if method in ("get_paginator", "can_paginate") and node.args:
                name = _literal(node.args[0])
                if name in ops:
                    self.result.add_call(ApiCall(service, ops[name]), here)
                return
            if method == "get_waiter" and node.args:
                name = _literal(node.args[0])
                waiters = waiter_operations(service)
                if name in waiters:
                    self.result.add_call(ApiCall(service, waiters[name]), here)
                return
            if method in CLIENT_HELPERS:
                return
        receiver = _target_key(func.value)
        if receiver in self.modules or (receiver or "").rsplit(".", 1)[-1] in NOT_CLIENTS:
            return
        if any(method in operations_of(s) for s in self.used):
            self.result.unresolved.setdefault(method, []).append(here)

    def _operation_literals(self, node: ast.Call, here: str) -> None:
        """``helper(client, "operation", ...)``: a client and one of its operations' names."""
        args = list(node.args) + [k.value for k in node.keywords]
        services = {s for s in (self.resolve(a) for a in args) if s}
        if isinstance(node.func, ast.Attribute) and _callee_name(node) in CLIENT_HELPERS:
            return  # handled with the receiver in _method_call
        for service in services:
            ops = operations_of(service)
            for arg in args:
                name = _literal(arg)
                if name in ops:
                    self.result.add_call(ApiCall(service, ops[name]), here)


def _services_named(trees: Iterable[ast.AST]) -> frozenset[str]:
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            service = _client_service(node)
            if service:
                found.add(service)
            if isinstance(node, ast.Call) and _callee_name(node) in PLAN_ROW_CLASSES and node.args:
                name = _literal(node.args[0])
                if name in available_services():
                    found.add(name)
    return frozenset(found)


def python_files(roots: Iterable[Path], exclude: Iterable[Path] = ()) -> Iterator[Path]:
    skipped = [p.resolve() for p in exclude]
    for root in roots:
        paths = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in paths:
            resolved = path.resolve()
            if any(resolved.is_relative_to(s) for s in skipped):
                continue
            yield path


def scan_python(paths: Iterable[Path], base: Path, result: ScanResult | None = None) -> ScanResult:
    result = result or ScanResult()
    parsed = [(p, ast.parse(p.read_text(), filename=str(p))) for p in paths]
    used = _services_named(tree for _, tree in parsed)
    for path, tree in parsed:
        where = str(path.resolve().relative_to(base.resolve()))
        _PythonScanner(where, result, used).visit(tree)
    return result


# --- state machines ---------------------------------------------------------------------------
_SERVICE_INTEGRATION = re.compile(r"^arn:aws[a-z-]*:states:::(?P<integration>.+)$")
_FUNCTION = re.compile(r"^(arn:aws[a-z-]*:lambda:.+:function:.+|\$\{[A-Za-z0-9]+FunctionArn\})$")


def task_resource(resource: str) -> TaskResource:
    """The integration a Task ``Resource`` names (see :class:`TaskResource`)."""
    if _FUNCTION.match(resource):
        return TaskResource("function")
    match = _SERVICE_INTEGRATION.match(resource)
    if match:
        return TaskResource(match["integration"])
    return TaskResource(f"unknown:{resource}")


def _task_states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _task_states(branch.get("States", {}))
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _task_states(state[key].get("States", {}))


def scan_asl(paths: Iterable[Path], base: Path, result: ScanResult | None = None) -> ScanResult:
    result = result or ScanResult()
    for path in paths:
        definition = json.loads(path.read_text())
        where = str(path.resolve().relative_to(base.resolve()))
        for state in _task_states(definition.get("States", {})):
            result.add_task(task_resource(state["Resource"]), where)
    return result


# --- shell ------------------------------------------------------------------------------------
_AWS_CLI = re.compile(
    r"\baws\s+(?:--\S+\s+(?:\"[^\"]*\"|\S+)\s+)*"  # global options: --region "$region"
    r"(?P<service>[a-z0-9-]+)\s+(?P<command>[a-z0-9-]+)"
)


def scan_shell(paths: Iterable[Path], base: Path, result: ScanResult | None = None) -> ScanResult:
    result = result or ScanResult()
    for path in paths:
        where = str(path.resolve().relative_to(base.resolve()))
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for match in _AWS_CLI.finditer(line):
                key = (match["service"], match["command"])
                if key in CLI_COMMANDS:
                    result.add_call(ApiCall(*CLI_COMMANDS[key]), f"{where}:{lineno}")
                elif match["service"] in available_services():
                    ops = operations_of(match["service"])
                    name = match["command"].replace("-", "_")
                    if name in ops:
                        result.add_call(ApiCall(match["service"], ops[name]), f"{where}:{lineno}")
                    else:
                        result.unresolved.setdefault(" ".join(key), []).append(where)
    return result


# --- the repository ---------------------------------------------------------------------------
#: What the scan reads, relative to the repository root. The local cloud and this package talk to
#: moto's backends, not to AWS: their boto3 calls (tests' helpers) are not the lab's.
PYTHON_ROOTS = ("reslab", "lambdas", "webapp")
PYTHON_EXCLUDED = ("reslab/localcloud", "reslab/iam")
ASL_GLOB = "statemachine/*.asl.json"
SHELL_GLOB = "bootstrap/*.sh"


def scan_repository(root: Path) -> ScanResult:
    result = ScanResult()
    scan_python(
        python_files([root / r for r in PYTHON_ROOTS], [root / e for e in PYTHON_EXCLUDED]),
        root,
        result,
    )
    scan_asl(sorted(root.glob(ASL_GLOB)), root, result)
    scan_shell(sorted(root.glob(SHELL_GLOB)), root, result)
    return result
