"""The ``reslab`` command line."""
