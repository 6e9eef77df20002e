"""``python -m reslab.machines [--check]``: see :mod:`reslab.machines.generate`."""

import sys

from reslab.machines.generate import main

sys.exit(main(sys.argv[1:]))
