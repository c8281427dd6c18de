"""``nnue-uci``: whole games through python-chess's UCI client, deterministic ``go nodes``, and
an ``EvalFile`` option that survives every kind of bad file without touching the shipped net."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import chess
import chess.engine
import pytest
from random_nets import random_net

from minizero.chessgame.uci import UciServer
from nnue.engine import SHIPPED_NET, NnueEngine
from nnue.kernel import load_kernel_net
from nnue.quantize import net_bytes, save_net
from tests.helpers import UciLines

MIDDLEGAME = "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4"


@pytest.fixture(scope="module", autouse=True)
def compiled_kernel() -> None:
    """Compile the kernel once here, so that the engine processes find it in numba's cache."""
    load_kernel_net(SHIPPED_NET).warm_up()
    random_net("halfkp")[1].warm_up()


@pytest.fixture(scope="module")
def halfkp_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nets") / "halfkp-random.nnue"
    save_net(random_net("halfkp", seed=3)[1].net, path)
    return path


def engine_command() -> list[str]:
    script = shutil.which("nnue-uci")
    return [script] if script else [sys.executable, "-m", "nnue.engine"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def best_line(server: UciServer, sink: UciLines, nodes: int = 600) -> tuple[str, str]:
    """(last info line's score and pv, bestmove line) of ``go nodes`` from MIDDLEGAME."""
    start = len(sink.history)
    server.handle("ucinewgame")  # empty tables, so that equal nets give equal searches
    server.handle(f"position fen {MIDDLEGAME}")
    server.handle(f"go nodes {nodes}")
    answer = sink.wait_for("bestmove")
    server.thread.join()
    infos = [line for line in sink.history[start:] if line.startswith("info depth")]
    return infos[-1].split(" nps ")[0], answer


def test_eval_file_bad_files_keep_the_previous_net(halfkp_file: Path, tmp_path: Path) -> None:
    shipped_before = digest(SHIPPED_NET)
    nets_before = sorted(path.name for path in SHIPPED_NET.parent.iterdir())
    sink = UciLines(timeout=60.0)
    server = UciServer(NnueEngine(), output=sink)
    server.handle("uci")
    sink.wait_for("uciok")
    server.handle("isready")
    sink.wait_for("readyok")
    shipped_answer = best_line(server, sink)
    server.handle(f"setoption name EvalFile value {halfkp_file}")
    halfkp_answer = best_line(server, sink)
    assert halfkp_answer != shipped_answer  # the option really switches the net

    good = halfkp_file.read_bytes()
    overflowing = random_net("piece-square", seed=1)[1].net
    overflowing.hidden2_bias[0] = 2**31 - 100  # a valid file whose int32 sums could overflow
    bad_files = {
        "missing.nnue": (None, "no such file"),
        "truncated.nnue": (good[: len(good) // 2], "truncated"),
        "corrupt.nnue": (good[:-10] + b"0123456789", "checksum mismatch"),
        "foreign.nnue": (b"\x89PNG\r\n\x1a\n" + good[8:], "not a minizero .nnue file"),
        "empty.nnue": (b"", "not a minizero .nnue file"),
        "overflowing.nnue": (net_bytes(overflowing), "past int32"),
    }
    for name, (content, reason) in bad_files.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        server.handle(f"setoption name EvalFile value {path}")
        complaint = sink.wait_for("info string")
        assert str(path) in complaint and reason in complaint, complaint
        server.handle("isready")
        sink.wait_for("readyok")
        assert best_line(server, sink) == halfkp_answer, name  # the halfkp net still plays
    server.handle(f"setoption name EvalFile value {tmp_path}")  # a folder, not a file
    assert str(tmp_path) in sink.wait_for("info string")
    server.handle("setoption name EvalFile value <empty>")  # back to the shipped net
    assert best_line(server, sink) == shipped_answer
    server.handle("quit")
    assert digest(SHIPPED_NET) == shipped_before
    assert sorted(path.name for path in SHIPPED_NET.parent.iterdir()) == nets_before


@pytest.mark.slow
def test_python_chess_plays_whole_games(halfkp_file: Path) -> None:
    for options in ({}, {"EvalFile": str(halfkp_file)}):
        with chess.engine.SimpleEngine.popen_uci(engine_command()) as engine:
            assert engine.id["name"].startswith("minizero-nnue")
            engine.configure(options)
            board = chess.Board()
            while not board.is_game_over(claim_draw=True) and board.ply() < 400:
                result = engine.play(board, chess.engine.Limit(nodes=150))
                assert result.move in board.legal_moves
                board.push(result.move)
            assert board.is_game_over(claim_draw=True), board.fen()


def test_go_nodes_is_deterministic_across_processes() -> None:
    board = chess.Board(MIDDLEGAME)
    answers = []
    for _ in range(2):
        with chess.engine.SimpleEngine.popen_uci(engine_command()) as engine:
            info = engine.analyse(board, chess.engine.Limit(nodes=3000))
            answers.append((info["pv"], info["score"].white(), info["nodes"], info["depth"]))
    assert answers[0] == answers[1]
    assert 0 < answers[0][2] <= 3000


def test_python_m_entry_point_and_lazy_loading() -> None:
    """``uci`` answers before any net is loaded; a broken EvalFile still leaves a playing
    engine; ``python -m nnue.engine`` is the same program."""
    process = subprocess.run(
        [sys.executable, "-m", "nnue.engine"],
        input="uci\nsetoption name EvalFile value /nonexistent/x.nnue\nisready\n"
              "position startpos\ngo nodes 200\n",
        capture_output=True, text=True, timeout=120)
    lines = process.stdout.splitlines()
    assert "uciok" in lines and "readyok" in lines, process.stdout
    assert any(line.startswith("info string /nonexistent/x.nnue: no such file") for line in lines)
    assert any(line.startswith("bestmove") for line in lines), process.stdout
    assert process.returncode == 0


def test_checking_engine_searches_through_uci() -> None:
    """The whole engine with the evaluator in checking mode: every evaluated node of a
    search from the UCI server is compared with a refresh and the numpy reference."""
    sink = UciLines(timeout=60.0)
    server = UciServer(NnueEngine(check=True), output=sink)
    server.handle("position startpos moves e2e4 d7d5 e4d5 g8f6 f1b5 c7c6 d5c6 d8b6 c6b7 e8d8")
    server.handle("go nodes 1500")
    move = sink.wait_for("bestmove").split()[1]
    server.thread.join()
    assert not [line for line in sink.lines if line.startswith("info string")], sink.lines
    assert chess.Move.from_uci(move) in server.board.legal_moves
