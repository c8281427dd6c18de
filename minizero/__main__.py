"""``python -m minizero``: the same as the ``minizero`` command."""

import sys

from minizero.cli import main

if __name__ == "__main__":  # not when a worker process re-imports the main module
    sys.exit(main())
