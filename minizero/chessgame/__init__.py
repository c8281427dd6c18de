"""Chess in minizero: everything chess lives here, so the top of minizero stays generic.

``evaluator.Evaluator`` is the contract every chess evaluator follows and ``classical`` the
first one; ``search.Searcher`` is the alpha-beta searcher, given its evaluator; ``protocol``
says what the UCI server (``uci``) asks of an engine and ``engine.AlphaBetaEngine`` is the
alpha-beta one; ``match`` and ``openings`` measure engines against each other. The folder is not
called ``chess`` so that ``import chess`` stays python-chess.
"""
