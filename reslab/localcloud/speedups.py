"""Work moto repeats on every request, done once: no change to what any call answers.

Measured with ``py-spy record --subprocesses`` over ``tests/fleet/test_fleet_local.py`` (21 labs):

* **ASL parsing** was 17 % of all samples. moto's interpreter (LocalStack's, vendored) parses a
  definition with an ANTLR parser written in pure Python twice per state machine created
  (validation) and again per execution started, nested executions included. The parse tree of a
  definition text never changes, so it is kept (:func:`parse_tree`); each parse still builds a
  fresh evaluation program from it (:class:`Preprocessor`), as the program holds per-run state.
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


def _cache_asl_parses() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse

    def parse(definition: str) -> tuple[Any, Any]:
        tree = parse_tree(definition)
        if tree is None:
            # a definition with syntax errors raises here, every time (never kept)
            program, tree = original(definition)
            _keep_tree(definition, tree)
            return program, tree
        return Preprocessor().visit(tree), tree

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


def enable() -> None:
    global _enabled
    if _enabled:
        return
    _cache_asl_parses()
    _keep_interpreter_clients()
    _enabled = True
