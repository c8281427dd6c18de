"""``python -m minizero``: the same as the ``minizero`` command."""

import sys

from minizero.cli import main

sys.exit(main())
