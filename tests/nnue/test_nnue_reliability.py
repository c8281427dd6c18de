"""NNUE pipeline under crashes and bad data: nothing lost, nothing left behind, no orphan."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import chess
import numpy as np
import pytest

from nnue.cli import main
from nnue.data import Positions, encode_board, read_shard, write_shard
from nnue.model import NnueConfig
from nnue.train import TrainConfig, train
from tests.helpers import alive, descendants

SMALL = NnueConfig("piece-square", 8, 4, 4)


def random_positions(count: int, seed: int = 0) -> Positions:
    rng = random.Random(seed)
    rows = []
    board = chess.Board()
    while len(rows) < count:
        if board.is_game_over() or board.ply() > 40:
            board = chess.Board()
        board.push(rng.choice(list(board.legal_moves)))
        rows.append((encode_board(board), int(board.turn), rng.randint(-500, 500),
                     rng.choice([-1, 0, 1]), len(rows) // 10))
    return Positions(np.stack([r[0] for r in rows]), np.array([r[1] for r in rows], np.uint8),
                     np.array([r[2] for r in rows], np.int16),
                     np.array([r[3] for r in rows], np.int8),
                     np.array([r[4] for r in rows], np.int64))


def test_bad_data_leaves_no_run_behind(tmp_path: Path, capsys) -> None:
    """A first attempt with bad data must not block a corrected retry with 'pass --resume'."""
    out = tmp_path / "run"
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a shard")
    args = ["train", "--out", str(out), "--epochs", "1", "--l1", "8", "--l2", "4", "--l3", "4",
            "--feature-set", "piece-square", "--batch-size", "64", "--quiet"]
    assert main([*args, "--data", str(bad)]) == 2
    assert "bad.npz" in capsys.readouterr().err
    assert not out.exists()
    good = tmp_path / "good.npz"
    write_shard(good, random_positions(200))
    assert main([*args, "--data", str(good)]) == 0, capsys.readouterr().err


def test_out_of_range_shard_rows_are_named(tmp_path: Path) -> None:
    positions = random_positions(20)
    result = positions.result.copy()
    result[7] = 3
    path = tmp_path / "odd.npz"
    write_shard(path, Positions(positions.pieces, positions.side_to_move, positions.score,
                                result, positions.game_id))
    with pytest.raises(ValueError, match=r"odd.npz: row 7: result out of range"):
        read_shard(path)


def test_a_torn_metrics_line_is_repaired_on_resume(tmp_path: Path, capsys) -> None:
    positions = random_positions(300)
    config = TrainConfig(epochs=3, batch_size=64, validation_fraction=0.2)
    straight = train([], tmp_path / "a", SMALL, config, quiet=True, positions=positions)
    out = tmp_path / "b"
    train([], out, SMALL, TrainConfig(**{**config.__dict__, "epochs": 3}), quiet=True,
          positions=positions, stop_after_steps=9)
    metrics = out / "metrics.jsonl"
    whole = metrics.read_text()
    metrics.write_text(whole + whole.splitlines()[-1][:17])  # a crash in the middle of a line
    resumed = train([], out, SMALL, config, resume=True, quiet=True, positions=positions)
    assert str(metrics) in capsys.readouterr().err
    assert [row["epoch"] for row in map(__import__("json").loads,
                                        metrics.read_text().splitlines())] == [0, 1, 2]
    assert resumed["train_loss"] == straight["train_loss"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_data_workers_and_stockfish_die_with_the_parent(how: int, tmp_path: Path,
                                                        stockfish_path: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-m", "nnue.cli", "data", "--out", str(tmp_path / "d"), "--positions",
         "100000", "--depth", "3", "--workers", "2", "--shard-size", "50", "--quiet",
         "--stockfish", stockfish_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        # As from a terminal: a shell's background job (``pytest &``) starts with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    below: set[int] = set()
    while time.time() < deadline and len(below) < 4:  # two workers, two Stockfish
        time.sleep(0.2)
        below = descendants(parent.pid)
    assert len(below) >= 4, below
    parent.send_signal(how)
    _, error = parent.communicate(timeout=120)  # generous: the machine may be loaded
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(pid) for pid in below):
        time.sleep(0.1)
    survivors = [pid for pid in below if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors
    assert b"Traceback" not in error
