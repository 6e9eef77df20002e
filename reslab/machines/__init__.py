"""The lab's three state machines, built from the tables and checked in as
``statemachine/<name>.asl.json``.

* :mod:`reslab.machines.deploy`: the deploy and teardown machines, from the stack table;
* :mod:`reslab.machines.restore`: the restore-integrity (backup verification) machine;
* :mod:`reslab.machines.asl`: what both use (Lambda Tasks from the function catalogue, the one
  ``${Name}`` renderer, JSON text, the Mermaid diagram);
* :mod:`reslab.machines.generate`: ``python -m reslab.machines`` rewrites the ASL files and the
  diagram in docs/deploy.md; ``--check`` exits 1 when any is stale.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Each state machine -> whose functions it calls (``reslab.functions.Function.machine``); the
#: installer stack gives the machines of one builder one role, invoking exactly those functions.
MACHINES: Mapping[str, str] = {"deploy": "deploy", "teardown": "deploy", "restore": "restore"}
