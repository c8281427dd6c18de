"""Relabelling: same positions and results, new scores from a search of the asked depth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnue.cli import main
from nnue.data import Positions, decode_board, read_shard, write_shard
from nnue.relabel import relabel_positions


def test_relabel_keeps_positions_and_agrees_with_a_direct_search(
        labelled: Positions, stockfish_path: str) -> None:
    import chess.engine

    some = labelled.subset(np.arange(0, len(labelled), len(labelled) // 6)[:6])
    relabelled = relabel_positions(some, stockfish_path, depth=1, workers=2)
    for name in ("pieces", "side_to_move", "result", "game_id"):
        assert np.array_equal(getattr(relabelled, name), getattr(some, name))
    # Depth 1 is deterministic: python-chess's client must see the same score.
    with chess.engine.SimpleEngine.popen_uci(stockfish_path) as engine:
        engine.configure({"Threads": 1})
        for row in range(len(some)):
            board = decode_board(some.pieces[row], some.side_to_move[row])
            info = engine.analyse(board, chess.engine.Limit(depth=1), game=object())
            expected = info["score"].pov(board.turn).score(mate_score=30000)
            assert abs(int(relabelled.score[row]) - expected) <= 1 or abs(expected) > 20000


def test_relabel_cli_resumes(labelled: Positions, tmp_path: Path, stockfish_path: str) -> None:
    source = tmp_path / "source"
    write_shard(source / "a.npz", labelled.subset(np.arange(20)))
    write_shard(source / "b.npz", labelled.subset(np.arange(20, 30)))
    out = tmp_path / "out"
    write_shard(out / "a.npz", labelled.subset(np.arange(3)))  # as if a killed run made it
    args = ["relabel", "--data", str(source), "--out", str(out), "--depth", "2",
            "--stockfish", stockfish_path, "--quiet"]
    assert main(args) == 0
    assert len(read_shard(out / "a.npz")) == 3 and len(read_shard(out / "b.npz")) == 10
