"""Not imported as a package: this directory goes on a caller's PYTHONPATH (see ../resolver.py)."""
