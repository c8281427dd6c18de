"""The chess part of make demo: one fast game, every move printed as played, the PGN written
under runs/ and never over an existing file."""

from __future__ import annotations

import io
from pathlib import Path

import chess
import chess.pgn
import pytest

from nnue.demo import main


@pytest.mark.slow
def test_one_fast_game_prints_its_moves_and_writes_its_pgn(tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--tc", "1+0.01"]) == 0
    printed = capsys.readouterr().out
    (pgn_path,) = (tmp_path / "runs" / "demo").glob("nnue-vs-classical-*.pgn")
    game = chess.pgn.read_game(io.StringIO(pgn_path.read_text()))
    assert game is not None and game.headers["White"] == "nnue-uci"
    moves = list(game.mainline_moves())
    assert moves, "the game has no move"
    board = game.board()
    for move in moves:  # every move of the PGN was printed, in SAN
        assert board.san(move) in printed
        board.push(move)
    assert game.headers["Result"] in printed and str(pgn_path.relative_to(tmp_path)) in printed


def test_an_existing_pgn_is_refused(tmp_path: Path, capsys) -> None:
    existing = tmp_path / "game.pgn"
    existing.write_text("precious")
    with pytest.raises(SystemExit) as raised:
        main(["--out", str(existing)])
    assert raised.value.code == 2 and "pass --force" in capsys.readouterr().err
    assert existing.read_text() == "precious"
