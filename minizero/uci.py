"""``python -m minizero.uci``: the classical UCI engine (``minizero-uci``), kept as an entry point.

The server lives in ``minizero/chessgame/uci.py`` and the engine in
``minizero/chessgame/engine.py``.
"""

import sys

from minizero.chessgame.engine import main

if __name__ == "__main__":
    sys.exit(main())
