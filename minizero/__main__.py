import sys

from minizero.cli import main

sys.exit(main())
