"""The embedded local cloud: moto's server with real Lambdas, real databases and a real web tier.

Imports are lazy so that the Lambda child runner (``reslab.localcloud.lambda_runtime``) starts
without loading moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reslab.localcloud.server import LocalCloud
    from reslab.localcloud.state import discover

__all__ = ["LocalCloud", "discover"]


def __getattr__(name: str) -> Any:
    if name == "LocalCloud":
        from reslab.localcloud.server import LocalCloud

        return LocalCloud
    if name == "discover":
        from reslab.localcloud.state import discover

        return discover
    raise AttributeError(name)
