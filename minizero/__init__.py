"""minizero: neural chess engines explained by building them.

The generic machinery lives here: the `Game` protocol, the classic searches, networks, training,
the UCI server and the match runner. Games (Hexapawn, chess) and NNUE build on it.
"""

__version__ = "0.1.0"
