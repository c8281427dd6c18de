"""NNUE: efficiently updatable neural networks for chess evaluation, end to end.

features -> model (torch, float) -> train -> quantize (int16/int8, ``.nnue`` file) -> evaluator
(numpy, integer, incremental accumulators). ``nnue --help`` lists the commands.
"""
