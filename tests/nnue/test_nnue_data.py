"""Dataset shards, text import and Stockfish generation: content, schema and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import chess
import numpy as np
import pytest

from nnue.data import (
    Positions,
    decode_board,
    encode_board,
    import_text,
    read_shard,
    shard_paths,
    validation_mask,
    write_shard,
)


def sample_positions(count: int = 5) -> Positions:
    board = chess.Board()
    pieces, turns = [], []
    for move in ["e2e4", "e7e5", "g1f3", "b8c6", "f1b5"][:count]:
        board.push_uci(move)
        pieces.append(encode_board(board))
        turns.append(int(board.turn))
    return Positions(np.stack(pieces), np.array(turns, np.uint8),
                     np.arange(count, dtype=np.int16) * 10, np.array([1, 0, -1, 0, 1][:count],
                                                                      np.int8),
                     np.arange(count, dtype=np.int64))


def test_encode_decode_round_trip() -> None:
    board = chess.Board("r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R b KQkq - 5 4")
    decoded = decode_board(encode_board(board), int(board.turn))
    assert decoded.board_fen() == board.board_fen() and decoded.turn == board.turn


def test_shard_round_trip(tmp_path: Path) -> None:
    positions = sample_positions()
    write_shard(tmp_path / "a.npz", positions)
    back = read_shard(tmp_path / "a.npz")
    for name in ("pieces", "side_to_move", "score", "result", "game_id"):
        assert np.array_equal(getattr(back, name), getattr(positions, name))
        assert getattr(back, name).dtype == getattr(positions, name).dtype
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_and_foreign_shards(tmp_path: Path) -> None:
    write_shard(tmp_path / "good.npz", sample_positions())
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.npz: unreadable shard"):
        read_shard(tmp_path / "truncated.npz")
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="foreign.npz: not a minizero position shard"):
        read_shard(tmp_path / "foreign.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="text.npz"):
        read_shard(tmp_path / "text.npz")
    with pytest.raises(ValueError, match="no such dataset"):
        shard_paths(tmp_path / "missing")


def test_validation_split_holds_out_whole_games() -> None:
    game_id = np.repeat(np.arange(2000), 10)
    mask = validation_mask(game_id, 0.1)
    per_game = mask.reshape(2000, 10)
    assert (per_game.all(axis=1) | ~per_game.any(axis=1)).all()
    assert 0.07 < mask.mean() < 0.13


TEXT = """# fen | score | result
rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1 | -30 | 1/2-1/2
rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 | 25 | 1-0
not a fen | 10 | 0
rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 | many | 0
rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 | 5 | 2
4k3/8/8/8/8/8/8/4K3 b - - 0 1 | 0 | 0-1
"""


def test_import_text_skip_and_reject(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "mine.txt"
    source.write_text(TEXT)
    with pytest.raises(ValueError, match=r"mine.txt:4: malformed FEN 'not a fen'"):
        import_text(source, tmp_path / "rejected", skip_bad=False)
    assert not (tmp_path / "rejected").exists()
    written, skipped = import_text(source, tmp_path / "kept", skip_bad=True)
    assert (written, skipped) == (3, 3)
    errors = capsys.readouterr().err
    assert "mine.txt:5:" in errors and "mine.txt:6:" in errors
    positions = read_shard(next((tmp_path / "kept").glob("*.npz")))
    assert positions.score.tolist() == [-30, 25, 0]
    assert positions.result.tolist() == [0, 1, 1]  # 0-1 with Black to move is a win for Black


def test_generated_positions(labelled: Positions) -> None:
    assert len(labelled) >= 3000
    assert set(np.unique(labelled.result)) <= {-1, 0, 1}
    assert np.abs(labelled.score).max() < 20000
    for index in range(0, len(labelled), 97):
        board = decode_board(labelled.pieces[index], labelled.side_to_move[index])
        assert not board.is_check() and board.is_valid()
    # The label is from the side to move: over all positions it should agree with the result.
    decisive = labelled.result != 0
    agree = np.sign(labelled.score[decisive]) == labelled.result[decisive]
    assert agree.mean() > 0.6


def test_missing_stockfish_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nnue.cli", "data", "--out", str(tmp_path / "d"),
         "--stockfish", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Stockfish not found" in result.stderr and "--stockfish PATH" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_import(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nnue.cli import main

    source = tmp_path / "mine.txt"
    source.write_text(TEXT)
    assert main(["data", "--import", str(source), "--out", str(tmp_path / "a")]) == 2
    error = capsys.readouterr().err
    assert "mine.txt:4: malformed FEN" in error and len(error.strip().splitlines()) == 1
    assert main(["data", "--import", str(source), "--out", str(tmp_path / "b"),
                 "--on-bad-line", "skip"]) == 0
    assert "imported 3 positions" in capsys.readouterr().out
