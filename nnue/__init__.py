"""NNUE: efficiently updatable neural networks for chess evaluation, end to end.

features -> model (torch, float) -> train -> quantize (int16/int8, the ``.nnue`` file) -> kernel
(numba, integer) and reference (numpy, integer) -> evaluator (incremental accumulators that
follow the search). ``nnue --help`` lists the commands.
"""
