"""Work moto repeats on every request, done once: no change to what any call answers.

Measured with ``py-spy record --subprocesses`` over ``tests/fleet/test_fleet_local.py`` (21 labs):

* **ASL parsing** was 17 % of all samples. moto's interpreter (LocalStack's, vendored) parses a
  definition with an ANTLR parser written in pure Python twice per state machine created
  (validation) and again per execution started, nested executions included. The parse tree of a
  definition text never changes, so it is kept (:func:`parse_tree`); each parse still builds a
  fresh evaluation program from it (:class:`Preprocessor`), as the program holds per-run state.
  A definition's first parse uses ANTLR's SLL prediction (:func:`sll_parse_tree`), falling back
  to moto's LL parse where SLL cannot decide: half the CPU, the same tree.
* **JSON templates** are read as JSON: moto parsed every template body with PyYAML's pure-Python
  loader first (JSON is YAML), 2 % of the fleet's CPU at each stack create.
* **boto3 clients** for the interpreter's ``aws-sdk``/``lambda``/``states`` tasks were created
  per Task (~10 ms of CPU each). A client is thread-safe once made; they are kept per
  (region, service, endpoint).

``enable()`` is called by ``LocalCloud.start()`` before the compatibility patches, so that
``compat.iam_sessions`` signs the kept clients per role; idempotent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from reslab.localcloud import sfn_clients

#: Distinct definition texts kept: a fleet of 20 labs has ~3 per lab (install renders the
#: prefix into the definition), and a tree is ~1-3 MB of Python objects.
PARSE_TREES_KEPT = 128

_enabled = False
_trees: OrderedDict[str, Any] = OrderedDict()
_trees_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def parse_tree(definition: str) -> Any | None:
    """The kept parse tree of ``definition`` (most recently used first out last), or None."""
    with _trees_lock:
        tree = _trees.get(definition)
        if tree is not None:
            _trees.move_to_end(definition)
        return tree


def _keep_tree(definition: str, tree: Any) -> None:
    with _trees_lock:
        _trees[definition] = tree
        _trees.move_to_end(definition)
        while len(_trees) > PARSE_TREES_KEPT:
            _trees.popitem(last=False)


def sll_parse_tree(definition: str) -> Any | None:
    """The definition's parse tree by ANTLR's fast SLL prediction, or None where SLL cannot
    decide or the text has any error: then the full LL parse decides (and reports the errors),
    the two-stage strategy of "The Definitive ANTLR 4 Reference" (13.7). Half the CPU of the
    LL parse on the lab's machines, with identical trees (``tests/localcloud/test_speedups.py``)."""
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.atn.PredictionMode import PredictionMode
    from antlr4.error.ErrorListener import ErrorListener
    from antlr4.error.Errors import ParseCancellationException
    from antlr4.error.ErrorStrategy import BailErrorStrategy
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser

    class _Failed(ErrorListener):  # type: ignore[misc]
        failed = False

        def syntaxError(self, *args: Any) -> None:  # noqa: N802 - ANTLR's name
            self.failed = True

    lexer_errors = _Failed()
    lexer = ASLLexer(InputStream(definition))
    lexer.removeErrorListeners()
    lexer.addErrorListener(lexer_errors)
    parser = ASLParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser._errHandler = BailErrorStrategy()  # noqa: SLF001 - ANTLR's documented way
    parser._interp.predictionMode = PredictionMode.SLL  # noqa: SLF001
    try:
        tree = parser.state_machine()
    except ParseCancellationException:
        return None
    return None if lexer_errors.failed else tree


def _cache_asl_parses() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse

    def parse(definition: str) -> tuple[Any, Any]:
        kept = parse_tree(definition)
        if kept is not None:
            return Preprocessor().visit(kept), kept
        tree = sll_parse_tree(definition)
        if tree is None:
            # moto's own LL parse: a definition with syntax errors raises here, every time
            program, tree = original(definition)
        else:
            program = Preprocessor().visit(tree)  # semantic errors raise here, as in moto's
        _keep_tree(definition, tree)
        return program, tree

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]


def _keep_interpreter_clients() -> None:
    original = sfn_clients.current_client_factory()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        # what moto's function reads besides its arguments (it ignores state_credentials)
        key = (region, service, botocore_stubber.enabled, moto_server_port())
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = original(region=region, service=service)
                _clients[key] = client
        return client

    sfn_clients.replace_client_factory(original, boto_client_for)


def _read_json_templates_as_json() -> None:
    import json

    import yaml
    from moto.cloudformation.models import Stack, yaml_tag_constructor

    original = Stack.parse_template
    # moto's parse registers its tag constructor on yaml.Loader, which its other YAML reads
    # (ValidateTemplate, GetTemplateSummary) rely on: registered here once for them
    yaml.add_multi_constructor("", yaml_tag_constructor)

    def parse_template(template: str) -> dict[str, Any]:
        if template.lstrip().startswith("{"):
            try:
                parsed = json.loads(template)
            except ValueError:
                pass  # YAML flow style, or broken: moto's parse decides
            else:
                if isinstance(parsed, dict):
                    return parsed
        return original(template)  # type: ignore[no-any-return]

    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]


def enable() -> None:
    global _enabled
    if _enabled:
        return
    _cache_asl_parses()
    _read_json_templates_as_json()
    _keep_interpreter_clients()
    _enabled = True
