import sys

from hexapawn.cli import main

sys.exit(main())
