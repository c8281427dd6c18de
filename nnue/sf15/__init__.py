"""Stockfish 15.1's NNUE read and evaluated exactly: the file (net), the integer arithmetic
(kernel), its ``eval`` text (trace) and an incremental evaluator for the alpha-beta search."""
