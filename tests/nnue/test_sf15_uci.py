"""nnue-uci with Stockfish 15.1 nets: EvalFile takes Stockfish 15.1 nets, a bad file is refused
with ``info string`` and the previous net stays (synthetic nets: no Stockfish needed)."""

from __future__ import annotations

from pathlib import Path

import chess
import pytest

from minizero.chessgame.uci import UciServer
from nnue.engine import NnueEngine
from tests.helpers import UciLines
from tests.minizero.test_uci import bestmove
from tests.nnue.sf15_synthetic import write_synthetic_net


@pytest.fixture(scope="module")
def nets(tmp_path_factory: pytest.TempPathFactory, sf15_synthetic_file: Path) -> tuple[Path, Path]:
    return sf15_synthetic_file, write_synthetic_net(tmp_path_factory.mktemp("sf15") / "b.nnue",
                                                    seed=2)


def test_evalfile_switches_nets_and_keeps_the_old_one_on_a_bad_file(nets, tmp_path: Path) -> None:
    first, second = nets
    sink = UciLines()
    engine = NnueEngine(str(first))
    server = UciServer(engine, output=sink)
    server.handle("uci")
    declared = sink.wait_for("option name EvalFile")
    assert declared == f"option name EvalFile type string default {first}"
    server.handle("isready")
    sink.wait_for("readyok")
    loaded = engine.net
    bad = tmp_path / "bad.nnue"
    bad.write_bytes(first.read_bytes()[:1000])
    server.handle(f"setoption name EvalFile value {bad}")
    assert "truncated Stockfish 15.1 net" in sink.wait_for("info string")
    assert engine.net is loaded and engine.eval_file == str(first)
    server.handle(f"setoption name EvalFile value {second}")
    server.handle("isready")
    sink.wait_for("readyok")
    assert engine.net is not loaded and engine.eval_file == str(second)
    server.handle("setoption name EvalFile value")  # back to our shipped net, then Stockfish's
    server.handle("isready")
    sink.wait_for("readyok")
    assert not isinstance(engine.net, type(loaded))
    server.handle(f"setoption name EvalFile value {second}")
    server.handle("position startpos moves e2e4")
    server.handle("go depth 3")
    assert bestmove(server, sink) in chess.Board("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR "
                                                 "b KQkq - 0 1").legal_moves


def test_a_missing_stockfish_is_reported_at_isready(tmp_path: Path) -> None:
    sink = UciLines()
    engine = NnueEngine("stockfish", stockfish=str(tmp_path / "no-stockfish"))
    server = UciServer(engine, output=sink)
    server.handle("isready")
    assert "Stockfish not found at" in sink.wait_for("info string")
    assert engine.net is None
