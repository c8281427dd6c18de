"""Bad input gets one line of error and a non-zero exit, and leaves nothing half-written.

Each case is a command line a careless or hostile user could type (the list grew from issue 13's
trial of about 200 bad invocations, then from the catalogue of hostile input for the newer
commands in ``tests/hostile_inputs.py``). They run in-process through each command's ``main``;
the same lists run as real processes in ``benchmarks/bench_reliability.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.bench_reliability import hostile_command, snapshot
from hexapawn.cli import main as hexapawn_main
from minizero.chessgame.puct_engine import PuctEngine
from minizero.chessgame.puct_engine import main as zero_uci_main
from minizero.chessgame.uci import UciServer
from minizero.cli import main as minizero_main
from minizero.peers import find_stockfish
from minizero.replay import Samples, save_samples
from nnue.cli import main as nnue_main
from tests import hostile_inputs as hostile
from tests.helpers import UciLines

MAINS: dict[str, Callable[[list[str] | None], int]] = {
    "minizero": minizero_main, "nnue": nnue_main, "hexapawn": hexapawn_main,
    "zero-uci": zero_uci_main}


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """(exit code, stderr) of a command line, argparse's own exits included."""
    try:
        code = MAINS[argv[0]](argv[1:])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    return code, capsys.readouterr().err


def assert_refused(argv: list[str], capsys: pytest.CaptureFixture, *fragments: str) -> str:
    code, error = run(argv, capsys)
    assert code != 0, argv
    assert "Traceback" not in error
    lines = [line for line in error.splitlines() if "error" in line]
    assert len(lines) == 1, error
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


SELFPLAY = ["minizero", "selfplay", "--workers", "1", "--generations", "1"]


@pytest.mark.parametrize("argv, fragment", [
    ([*SELFPLAY, "--lr", "inf"], "finite"),
    ([*SELFPLAY, "--lr", "nan"], "finite"),
    ([*SELFPLAY, "--batch-size", "-5"], "positive"),
    ([*SELFPLAY, "--dirichlet-epsilon", "5"], "between 0 and 1"),
    ([*SELFPLAY, "--weight-decay", "-1"], "at least 0"),
    ([*SELFPLAY, "--seed", "-1"], "at least 0"),
    (["minizero", "train", "--data", "x.npz", "--epochs", "0"], "positive"),
    (["minizero", "chessdata", "--out", "d", "--adjudicate-plies", "-1"], "at least 0"),
    (["minizero", "chessdata", "--out", "d", "--weak-side-random", "1.5"], "between 0 and 1"),
    (["nnue", "data", "--out", "d", "--nodes", "-5"], "positive"),
    (["nnue", "data", "--out", "d", "--nodes", "0"], "positive"),
    (["nnue", "data", "--out", "d", "--random-plies", "-3", "-1"], "at least 0"),
    (["nnue", "data", "--out", "d", "--workers", "0"], "positive"),
    (["nnue", "train", "--data", "d", "--out", "r", "--batch-size", "0"], "positive"),
    (["nnue", "train", "--data", "d", "--out", "r", "--epochs", "0"], "positive"),
    (["nnue", "train", "--data", "d", "--out", "r", "--lr", "inf"], "finite"),
    (["nnue", "train", "--data", "d", "--out", "r", "--lambda", "2"], "between 0 and 1"),
    (["nnue", "bench", "net.nnue", "--games", "0"], "positive"),
    (["nnue", "bench", "net.nnue", "--plies", "0"], "positive"),
    (["nnue", "check", "net.nnue", "--data", "d", "--positions", "-1"], "positive"),
])
def test_numeric_options_are_finite_and_in_range(argv: list[str], fragment: str,
                                                 capsys: pytest.CaptureFixture,
                                                 tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_refused(argv, capsys, fragment)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_random_plies_min_above_max_is_refused(tmp_path: Path, capsys) -> None:
    assert_refused(["nnue", "data", "--out", str(tmp_path / "d"), "--random-plies", "5", "2",
                    "--stockfish", "/bin/true"], capsys)


def test_agent_counts_must_be_whole_and_in_range(tmp_path: Path, capsys) -> None:
    checkpoint = tmp_path / "ckpt"
    checkpoint.write_bytes(b"")
    arena = ["minizero", "arena", "--games", "2", "--b", "random", "--a"]
    assert_refused([*arena, f"{checkpoint}:-3"], capsys, "at least 0", "-3")
    assert_refused([*arena, "mcts:0"], capsys, "positive")
    assert_refused([*arena, "mcts:x"], capsys, "not a whole number")


def shard(path: Path, value: np.ndarray | None = None, policy: np.ndarray | None = None) -> Path:
    count = 4
    save_samples(path, Samples(np.zeros((count, 2, 3, 3), np.float32),
                               policy if policy is not None else
                               np.full((count, 9 * 3), 1 / 27, np.float32),
                               value if value is not None else np.zeros(count, np.float32)))
    return path


@pytest.mark.parametrize("problem, fragment", [
    ("nan value", "row 2: value is not finite"),
    ("value 7", "row 1: value 7 is outside [-1, 1]"),
    ("negative policy", "row 3: negative policy entry"),
])
def test_bad_training_data_names_the_file_and_row(problem: str, fragment: str, tmp_path: Path,
                                                   capsys) -> None:
    value = np.zeros(4, np.float32)
    policy = np.full((4, 27), 1 / 27, np.float32)
    if problem == "nan value":
        value[2] = np.nan
    elif problem == "value 7":
        value[1] = 7
    else:
        policy[3, :2] = [-0.5, 0.5 + 2 / 27]
    data = shard(tmp_path / "bad.npz", value, policy)
    out = tmp_path / "run"
    assert_refused(["minizero", "train", "--data", str(data), "--out", str(out), "--epochs", "1",
                    "--quiet"], capsys, "bad.npz", fragment)
    assert not out.exists()


def test_training_that_diverges_stops_without_writing_nan(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    data = shard(tmp_path / "data.npz", rng.choice([-1.0, 1.0], 4).astype(np.float32))
    out = tmp_path / "run"
    torch.set_num_threads(1)
    assert_refused(["minizero", "train", "--data", str(data), "--out", str(out), "--epochs", "3",
                    "--lr", "1e30", "--optimizer", "sgd", "--quiet"], capsys, "diverged")
    metrics = out / "metrics.jsonl"
    for line in (metrics.read_text().splitlines() if metrics.exists() else []):
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in metrics"))


def test_train_init_of_another_game_or_no_file_names_it(tmp_path: Path, capsys) -> None:
    data = shard(tmp_path / "data.npz")
    out = tmp_path / "run"
    chess_net = str(Path(__file__).parents[1] / "minizero" / "chessgame" / "nets" / "zero-small.pt")
    assert_refused(["minizero", "train", "--data", str(data), "--out", str(out), "--init",
                    chess_net, "--quiet"], capsys, "zero-small.pt", "input")
    assert_refused(["minizero", "train", "--data", str(data), "--out", str(out), "--init",
                    str(tmp_path / "missing.pt"), "--quiet"], capsys, "missing.pt")
    assert_refused(["minizero", "train", "--data", str(data), "--out", str(out), "--mirror",
                    "--quiet"], capsys, "--mirror needs chess data")
    assert not out.exists()


def test_runs_refuse_a_foreign_folder(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "holiday"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(b"jpeg")
    assert_refused([*SELFPLAY, "--out", str(folder)], capsys, "not empty and holds no run")
    data = shard(tmp_path / "data.npz")
    assert_refused(["minizero", "train", "--data", str(data), "--out", str(folder)], capsys,
                   "not empty and holds no run")
    assert sorted(path.name for path in folder.iterdir()) == ["photo.jpg"]


def test_hexapawn_solve_refuses_big_boards_and_overwrites(tmp_path: Path, capsys) -> None:
    assert_refused(["hexapawn", "solve", "--size", "6x5"], capsys, "--force", "minutes")
    existing = tmp_path / "solution.npz"
    existing.write_bytes(b"precious")
    assert_refused(["hexapawn", "solve", "--size", "3x3", "--out", str(existing)], capsys,
                   "exists", "--force")
    assert existing.read_bytes() == b"precious"
    code, _ = run(["hexapawn", "solve", "--size", "3x3", "--out", str(existing), "--force"],
                  capsys)
    assert code == 0 and existing.read_bytes() != b"precious"


def test_nnue_file_and_directory_mix_ups(tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert_refused(["nnue", "data", "--out", str(a_file), "--stockfish", "/bin/true"], capsys,
                   "is a file")
    assert_refused(["nnue", "data", "--import", str(tmp_path), "--out", str(tmp_path / "d")],
                   capsys, "is a directory")
    assert_refused(["nnue", "quantize", str(a_file), "--out", str(tmp_path)], capsys,
                   "is a directory")


@pytest.mark.parametrize("program", ["/bin/cat", "/bin/true", "/bin/sleep"])
def test_a_stockfish_that_is_not_a_uci_engine(program: str, tmp_path: Path, capsys,
                                              monkeypatch) -> None:
    import minizero.peers as peers

    real = peers.check_uci_engine
    monkeypatch.setattr(peers, "check_uci_engine", lambda path: real(path, timeout=2.0))
    line = assert_refused(["nnue", "data", "--out", str(tmp_path / "d"), "--positions", "10",
                           "--stockfish", program], capsys, program)
    assert "UCI" in line


def test_nnue_quantize_refuses_a_nan_model(tmp_path: Path, capsys) -> None:
    from nnue.model import NnueConfig, NnueModel
    from nnue.train import save_checkpoint

    model = NnueModel(NnueConfig("piece-square", 8, 4, 4))
    with torch.no_grad():
        model.hidden1.weight[0, 0] = float("nan")
    save_checkpoint(tmp_path / "nan.pt", model, None, {})
    out = tmp_path / "nan.nnue"
    assert_refused(["nnue", "quantize", str(tmp_path / "nan.pt"), "--out", str(out)], capsys,
                   "NaN", "hidden1.weight")
    assert not out.exists()


@pytest.mark.parametrize("argv, fragment", [
    (["minizero", "match", "minizero", "minizero", "--nodes", "0"], "positive"),
    (["minizero", "match", "minizero", "minizero", "--games", "-2"], "positive"),
    (["minizero", "match", "minizero", "minizero", "--depth", "0"], "positive"),
    (["minizero", "match", "minizero", "minizero", "--time-margin", "nan"], "finite"),
    (["minizero", "openings", "--out", "o.fen", "--count", "0"], "positive"),
    (["minizero", "openings", "--out", "o.fen", "--depth", "-1"], "positive"),
])
def test_chess_numeric_options(argv: list[str], fragment: str, capsys, tmp_path: Path,
                               monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_refused(argv, capsys, fragment)
    assert list(tmp_path.iterdir()) == []


def test_match_never_empties_an_existing_pgn(tmp_path: Path, capsys) -> None:
    pgn = tmp_path / "games.pgn"
    pgn.write_text("[Event \"an earlier match\"]\n\n1. e4 e5 *\n\n")
    before = pgn.read_text()
    assert_refused(["minizero", "match", "no-such-engine-xyz", "minizero", "--nodes", "10",
                    "--pgn", str(pgn), "--quiet"], capsys, "no-such-engine-xyz")
    assert pgn.read_text() == before
    code, error = run(["minizero", "match", "minizero", "minizero", "--games", "2", "--nodes",
                       "50", "--pgn", str(pgn), "--quiet"], capsys)
    assert code == 0, error
    text = pgn.read_text()
    assert text.startswith(before) and text.count("[Event ") == 3  # appended, kept


def test_openings_files_refuse_impossible_positions(tmp_path: Path, capsys) -> None:
    openings = tmp_path / "openings.fen"
    openings.write_text(f"{'rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1'}\n"
                        "8/8/8/8/8/8/8/4K3 w - - 0 1\n")
    assert_refused(["minizero", "match", "minizero", "minizero", "--nodes", "10", "--openings",
                    str(openings)], capsys, "openings.fen:2", "no black king")


def test_openings_refuse_a_stockfish_that_is_not_a_uci_engine(tmp_path: Path, capsys,
                                                                monkeypatch) -> None:
    import minizero.peers as peers

    real = peers.check_uci_engine
    monkeypatch.setattr(peers, "check_uci_engine", lambda path: real(path, timeout=2.0))
    monkeypatch.setattr("minizero.chessgame.commands.check_uci_engine",
                        lambda path: real(path, timeout=2.0))
    out = tmp_path / "o.fen"
    assert_refused(["minizero", "openings", "--out", str(out), "--count", "2", "--stockfish",
                    "/bin/cat"], capsys, "not a UCI engine")
    assert not out.exists()


# ----------------------------------------------------------------------------- hostile input


def _needs_stockfish(case: hostile.Case) -> None:
    if case.uses_stockfish:
        try:
            find_stockfish()
        except FileNotFoundError:
            pytest.skip("Stockfish is not installed")


# Loading Stockfish's own net takes many seconds: those cases run in the benchmark only.
IN_PROCESS = [case for case in hostile.CASES if case.disk_limit is None
              and not (case.accepted and case.uses_stockfish)]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", IN_PROCESS, ids=lambda case: case.name)
def test_hostile_input_gets_one_line_and_touches_nothing(case: hostile.Case, tmp_path: Path, capsys,
                                                         monkeypatch) -> None:
    _needs_stockfish(case)
    monkeypatch.setattr("minizero.chessgame.uci.serve", lambda engine: 0)  # zero-uci: no loop
    monkeypatch.chdir(tmp_path)
    argv = hostile.materialize(case.argv, tmp_path)
    before = snapshot(tmp_path)
    code, error = run(argv, capsys)
    assert hostile.answered_well(case, code, error), (code, error)
    assert "Traceback" not in error
    if not case.accepted:
        assert snapshot(tmp_path) == before


@pytest.mark.slow
@pytest.mark.parametrize("case", [case for case in hostile.CASES if case.disk_limit is not None],
                         ids=lambda case: case.name)
def test_a_full_disk_gets_one_line_naming_the_file(case: hostile.Case) -> None:
    """As a process whose file size is capped (RLIMIT_FSIZE): writes fail as on a full disk."""
    _needs_stockfish(case)
    result = hostile_command(case)
    assert result["ok"], result


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", hostile.UCI_CASES, ids=lambda case: case.name)
def test_hostile_uci_input_is_explained_and_the_engine_plays_on(case: hostile.UciCase,
                                                                 tmp_path: Path) -> None:
    if case.engine[0] == "zero-uci":
        engine = PuctEngine()
    else:
        from nnue.engine import NnueEngine

        engine = NnueEngine()
    sink = UciLines(timeout=120)
    server = UciServer(engine, output=sink)
    sent = [" ".join(hostile.materialize(line.split(" "), tmp_path)) for line in case.lines]
    for line in ["uci", "isready", *sent]:
        server.handle(line)
    sink.wait_for("bestmove")
    if server.thread is not None:
        server.thread.join()
    assert hostile.played_well(case, sent, sink.history), sink.history[-12:]
