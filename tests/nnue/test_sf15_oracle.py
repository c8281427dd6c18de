"""Stockfish 15.1 is the oracle: its own ``eval`` text, NNUE part, equals ours on 2,400
positions, character for character. Skipped (with the reason) where Stockfish is absent."""

from __future__ import annotations

import collections
import difflib
from pathlib import Path

import chess
import pytest

from nnue.sf15.evaluator import StockfishNnueEvaluator, search_value
from nnue.sf15.net import load_stockfish_net
from nnue.sf15.oracle import (
    nnue_part,
    oracle_positions,
    stockfish_eval_outputs,
    stockfish_game_positions,
)
from nnue.sf15.trace import eval_text

SPECIAL_KINDS = [f"castling {side} {color}" for side in ("kingside", "queenside")
                 for color in ("white", "black")] + [
    "en passant white", "en passant black", "king move white", "king move black"] + [
    f"promotion {piece}" for piece in ("queen", "rook", "bishop", "knight")]


@pytest.fixture(scope="module")
def installed_net(stockfish_path: str):
    return load_stockfish_net("stockfish", stockfish_path)


@pytest.fixture(scope="module")
def positions() -> list[tuple[str, str]]:
    return oracle_positions(count=2400, seed=1)


def test_the_positions_cover_what_the_oracle_must_see(positions: list[tuple[str, str]]) -> None:
    kinds = collections.Counter(kind for _, kind in positions)
    assert len(positions) >= 2000
    for kind in SPECIAL_KINDS:
        assert kinds[kind] >= 10, (kind, kinds)
    assert sum(count for kind, count in kinds.items() if "capture" in kind and "promotion" in
               kind) >= 5
    assert kinds["endgame"] >= 300 and kinds["opening"] >= 50
    boards = [chess.Board(fen) for fen, _ in positions]
    black_to_move = sum(board.turn == chess.BLACK for board in boards)
    assert 0.35 < black_to_move / len(boards) < 0.65
    assert sum(board.is_check() for board in boards) >= 50
    piece_counts = collections.Counter((chess.popcount(board.occupied) - 1) // 4
                                       for board in boards)
    assert all(piece_counts[bucket] >= 40 for bucket in range(8)), piece_counts


def test_eval_text_equals_stockfish_on_every_position(stockfish_path: str, installed_net,
                                                      positions: list[tuple[str, str]]) -> None:
    positions = positions + stockfish_game_positions(stockfish_path, games=6)
    assert len(positions) >= 2800
    fens = [fen for fen, _ in positions]
    outputs = stockfish_eval_outputs(stockfish_path, fens)
    mismatches = []
    for (fen, kind), output in zip(positions, outputs):
        theirs, ours = nnue_part(output), eval_text(installed_net, chess.Board(fen))
        if theirs != ours:
            mismatches.append((fen, kind, "".join(difflib.unified_diff(
                theirs.splitlines(True), ours.splitlines(True), "stockfish", "ours"))))
    assert not mismatches, f"{len(mismatches)} of {len(fens)} differ; first: {mismatches[0]}"


def test_nnue_eval_cli_prints_the_same_text(tmp_path: Path, stockfish_path: str,
                                            positions: list[tuple[str, str]],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from nnue.cli import main

    fens = [fen for fen, kind in positions if kind in ("opening", "endgame")][:6]
    fens.append("4k3/8/8/8/8/8/8/R3K2r w Q - 0 1")  # in check
    epd = tmp_path / "positions.epd"
    epd.write_text("".join(chess.Board(fen).epd() + "\n" for fen in fens))
    assert main(["eval", "stockfish", "--stockfish", stockfish_path, "--epd", str(epd)]) == 0
    printed = capsys.readouterr().out
    expected = "\n".join(nnue_part(output) for output in
                         stockfish_eval_outputs(stockfish_path, fens))
    assert printed == expected
    assert printed.endswith("Final evaluation: none (in check)\n")


def test_search_value_is_stockfishs_final_evaluation_where_the_net_decides(
        stockfish_path: str, installed_net, positions: list[tuple[str, str]]) -> None:
    """With at most 7 pieces Stockfish 15.1 always evaluates with the net, and its ``eval``
    prints Eval::evaluate with optimism 0 as "Final evaluation": the evaluator's scaling."""
    boards = [chess.Board(fen) for fen, _ in positions]
    few = [board for board in boards
           if chess.popcount(board.occupied) <= 7 and not board.is_check()]
    boards = ([board for board in few if board.halfmove_clock > 0][:150]  # fifty-move damping
              + [board for board in few if board.halfmove_clock == 0][:150])
    assert len(boards) == 300
    outputs = stockfish_eval_outputs(stockfish_path, [board.fen() for board in boards])
    evaluator = StockfishNnueEvaluator(installed_net)
    for board, output in zip(boards, outputs):
        evaluator.reset(board)
        value = search_value(*evaluator.terms(board), board)
        white_view = value if board.turn == chess.WHITE else -value
        line = next(line for line in output.splitlines() if line.startswith("Final evaluation"))
        assert line.startswith(f"Final evaluation       {white_view / 361:+.2f} (white side)"), (
            board.fen(), line, white_view)
