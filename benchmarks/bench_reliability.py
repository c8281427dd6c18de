"""Reliability as a user meets it: bad command lines, kill -9 at random moments, malformed UCI.

Three trials, each as real processes, each counted:

1. bad invocations of ``minizero``, ``nnue`` and ``hexapawn``: each must exit non-zero with
   exactly one error line on stderr, no traceback, and leave no file behind;
2. kill -9 cycles: a self-play run and a supervised run are killed at random moments, resumed
   each time, and must end with the metrics lines, replay shards and final weights of the same
   run done in one go;
3. malformed UCI exchanges with ``minizero-uci``: after each, the engine must still answer
   ``isready`` and give a legal ``bestmove`` on its own (no ``stop`` sent) within seconds;
4. hostile input for the newer commands (``tests/hostile_inputs.py``: damaged nets, endless
   files, FIFOs, a full disk, bad options of chessdata, compare and the precision studies; bad
   nets and ``go searchmoves`` over UCI to ``zero-uci`` and ``nnue-uci``), each process capped
   at 4 GiB of memory and a minute: one line on stderr naming the file or option, exit 2, the
   scratch folder untouched (or, over UCI, a reason in ``info string`` and a legal answer).

    make bench BENCH=reliability
"""

from __future__ import annotations

import json
import os
import queue
import random
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import chess

from benchmarks.common import markdown_table, write_results
from tests.hostile_inputs import (
    CASES,
    UCI_CASES,
    Case,
    UciCase,
    answered_well,
    materialize,
    played_well,
)

PY = sys.executable
SELFPLAY = [PY, "-m", "minizero", "selfplay", "--workers", "1", "--generations", "1"]
NNUE = [PY, "-m", "nnue.cli"]


def bad_invocations(scratch: Path) -> list[list[str]]:
    """Command lines that must be refused; ``scratch`` holds the files some of them need."""
    existing = scratch / "existing.npz"
    existing.write_bytes(b"keep me")
    folder = scratch / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"jpeg")
    nan_data = scratch / "nan.npz"
    import numpy as np

    from minizero.replay import Samples, save_samples

    values = np.zeros(4, np.float32)
    values[2] = np.nan
    save_samples(nan_data, Samples(np.zeros((4, 2, 3, 3), np.float32),
                                   np.full((4, 27), 1 / 27, np.float32), values))
    big_value = scratch / "seven.npz"
    save_samples(big_value, Samples(np.zeros((4, 2, 3, 3), np.float32),
                                    np.full((4, 27), 1 / 27, np.float32),
                                    np.array([0, 7, 0, 0], np.float32)))
    kingless = scratch / "kingless.fen"
    kingless.write_text("8/8/8/8/8/8/8/4K3 w - - 0 1\n")
    out = str(scratch / "out")
    train = [PY, "-m", "minizero", "train", "--out", out, "--data"]
    commands = [
        [*SELFPLAY, "--lr", value] for value in ("inf", "nan", "-1", "0", "abc")
    ] + [
        [*SELFPLAY, "--batch-size", "-5"], [*SELFPLAY, "--batch-size", "0"],
        [*SELFPLAY, "--dirichlet-epsilon", "5"], [*SELFPLAY, "--dirichlet-epsilon", "nan"],
        [*SELFPLAY, "--dirichlet-alpha", "0"], [*SELFPLAY, "--c-puct", "inf"],
        [*SELFPLAY, "--weight-decay", "-1"], [*SELFPLAY, "--simulations", "0"],
        [*SELFPLAY, "--games", "0"], [*SELFPLAY, "--seed", "-1"],
        [*SELFPLAY, "--game", "hexapawn:9x9"], [*SELFPLAY, "--game", "go:19"],
        [*SELFPLAY, "--out", str(folder)], [*SELFPLAY, "--resume", "--out", out],
        [*train, str(nan_data)], [*train, str(big_value)], [*train, str(scratch / "none.npz")],
        [*train, str(existing)], [*train, str(nan_data), "--epochs", "0"],
        [PY, "-m", "minizero", "train", "--data", str(nan_data), "--out", str(folder)],
        [PY, "-m", "minizero", "arena", "--a", f"{existing}:-3", "--b", "random"],
        [PY, "-m", "minizero", "arena", "--a", "mcts:0", "--b", "random"],
        [PY, "-m", "minizero", "arena", "--a", "nothing", "--b", "random"],
        [PY, "-m", "minizero", "arena", "--a", str(existing), "--b", "random"],
        [PY, "-m", "minizero", "match", "minizero", "minizero", "--nodes", "0"],
        [PY, "-m", "minizero", "match", "minizero", "minizero", "--games", "0"],
        [PY, "-m", "minizero", "match", "minizero", "minizero", "--tc", "soon"],
        [PY, "-m", "minizero", "match", "minizero", "minizero", "--nodes", "10",
         "--openings", str(kingless)],
        [PY, "-m", "minizero", "match", "no-such-engine", "minizero", "--nodes", "10"],
        [PY, "-m", "minizero", "openings", "--out", out, "--count", "0"],
        [PY, "-m", "minizero", "openings", "--out", out, "--stockfish", "/bin/cat"],
        [*NNUE, "data", "--out", out, "--nodes", "-5"],
        [*NNUE, "data", "--out", out, "--random-plies", "-3", "-1"],
        [*NNUE, "data", "--out", out, "--random-plies", "5", "2"],
        [*NNUE, "data", "--out", str(existing)],
        [*NNUE, "data", "--out", out, "--import", str(scratch)],
        [*NNUE, "data", "--out", out, "--stockfish", "/bin/cat", "--positions", "5"],
        [*NNUE, "data", "--out", out, "--stockfish", "/no/such/stockfish"],
        [*NNUE, "train", "--data", str(scratch), "--out", out, "--batch-size", "0"],
        [*NNUE, "train", "--data", str(scratch), "--out", out, "--epochs", "0"],
        [*NNUE, "train", "--data", str(scratch), "--out", out, "--lr", "inf"],
        [*NNUE, "train", "--data", str(scratch), "--out", out, "--lambda", "2"],
        [*NNUE, "train", "--data", str(existing), "--out", out],
        [*NNUE, "train", "--data", str(scratch / "none"), "--out", out],
        [*NNUE, "quantize", str(existing), "--out", str(scratch)],
        [*NNUE, "quantize", str(existing), "--out", out],
        [*NNUE, "bench", str(existing), "--games", "0"],
        [*NNUE, "bench", str(existing), "--plies", "0"],
        [*NNUE, "bench", str(existing)],
        [*NNUE, "check", str(existing), "--data", out],
        [PY, "-m", "hexapawn", "solve", "--size", "6x5"],
        [PY, "-m", "hexapawn", "solve", "--size", "9x9"],
        [PY, "-m", "hexapawn", "solve", "--size", "3x3", "--out", str(existing)],
        [PY, "-m", "hexapawn", "play", "--iterations", "0"],
    ]
    return commands


def trial_bad_invocations() -> dict:
    held, failures = 0, []
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        commands = bad_invocations(scratch)
        before = sorted(str(path) for path in scratch.rglob("*"))
        for command in commands:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                    cwd=scratch)
            errors = [line for line in result.stderr.splitlines() if "error" in line]
            after = sorted(str(path) for path in scratch.rglob("*"))
            ok = (result.returncode != 0 and len(errors) == 1
                  and "Traceback" not in result.stderr and after == before)
            held += ok
            if not ok:
                failures.append({"command": command[2:], "code": result.returncode,
                                 "stderr": result.stderr[-300:]})
    return {"tried": len(commands), "held": held, "failures": failures}


def metrics(out: Path) -> list[dict]:
    return [{key: value for key, value in json.loads(line).items() if "seconds" not in key}
            for line in (out / "metrics.jsonl").read_text().splitlines()]


def kill_cycles(command: list[str], cycles: int, seed: int) -> dict:
    import torch

    from minizero.checkpoint import load_checkpoint

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as directory:
        straight, chaos = Path(directory) / "straight", Path(directory) / "chaos"
        began = time.perf_counter()
        subprocess.run([*command, "--out", str(straight)], check=True, capture_output=True)
        duration = time.perf_counter() - began
        kills = 0
        for _ in range(cycles):
            resume = ["--resume"] if (chaos / "config.json").exists() else []
            process = subprocess.Popen([*command, "--out", str(chaos), *resume],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                process.wait(timeout=rng.uniform(0.2, 0.9) * duration)
            except subprocess.TimeoutExpired:
                process.kill()
                kills += 1
            process.wait()
        resume = ["--resume"] if (chaos / "config.json").exists() else []
        subprocess.run([*command, "--out", str(chaos), *resume], check=True,
                       capture_output=True)
        latest = Path("checkpoints/latest.pt")
        first, second = load_checkpoint(straight / latest)[1], load_checkpoint(chaos / latest)[1]
        same_weights = all(torch.equal(tensor, second["model"][name])
                           for name, tensor in first["model"].items())
        same = metrics(straight) == metrics(chaos) and same_weights
        return {"kills": kills, "identical_end": same, "metrics_lines": len(metrics(chaos))}


UCI_EXCHANGES = [
    "go depth 0", "go movetime -5", "go nodes -1", "go mate 0", "go wtime abc",
    "go depth", "go depth x", "go nodes 9999999999999999999999 depth 2", "go searchmoves z9z9",
    "go searchmoves e2e4 depth 2", "go movestogo 0 movetime 100", "go wtime -100",
    "go infinite ponder movetime 100", "go unknown 5 depth 1", "go depth 2 depth 1",
    "position", "position fen", "position fen 8/8/8/8/8/8/8/8 w - - 0 1",
    "position fen 8/8/8/8/8/8/8/4K3 w - - 0 1", "position startpos moves e2e5",
    "position startpos moves e2e4 e2e4", "position fen rnbqkbnr/pppppppp w KQkq",
    "position startpos moves", "position startpos junk", "position fen x y z w",
    "setoption", "setoption name", "setoption name Hash value -1",
    "setoption name Hash value abc", "setoption name Hash value 999999999",
    "setoption name MultiPV value 0", "setoption name MultiPV value 500",
    "setoption name NoSuchOption value 1", "setoption name Ponder value maybe",
    "setoption value 3", "ucinewgame extra", "stop", "ponderhit", "isready now",
    "d extra", "debug on", "register later", "xyzzy", "", "   ", "\t",
    "uci uci", "go", "é ü ß", "position startpos moves " + "e2e4 e7e5 " * 60,
    "go depth 1 " * 40, "\x00\x01\x02",
]


def trial_uci() -> dict:
    held, failures = 0, []
    for line in UCI_EXCHANGES:
        process = subprocess.Popen([PY, "-m", "minizero.chessgame.engine"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        script = ("uci\nisready\nposition startpos moves e2e4\n" + line + "\n"
                  + ("stop\n" if line.strip() == "go" or "infinite" in line else "")
                  + "isready\nposition startpos\ngo depth 2\n")
        try:
            assert process.stdin is not None
            process.stdin.write(script)
            process.stdin.flush()
            time.sleep(3.0)  # the bounded searches end on their own within this
            output, error = process.communicate("quit\n", timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, error = process.communicate()
        answers = [ln for ln in output.splitlines() if ln.startswith("bestmove")]
        legal = bool(answers) and chess.Move.from_uci(answers[-1].split()[1]) in set(
            chess.Board().legal_moves)
        # at least two readyok: "isready now" is rightly answered too
        ok = (output.count("readyok") >= 2 and legal and "Traceback" not in error
              and process.returncode == 0)
        held += ok
        if not ok:
            failures.append({"line": line[:60], "stderr": error[-300:],
                             "tail": output.splitlines()[-3:]})
    return {"tried": len(UCI_EXCHANGES), "held": held, "failures": failures}


PROGRAMS = {"minizero": [PY, "-m", "minizero"], "nnue": NNUE, "hexapawn": [PY, "-m", "hexapawn"],
            "zero-uci": [PY, "-m", "minizero.chessgame.puct_engine"],
            "nnue-uci": [PY, "-m", "nnue.engine"]}
MEMORY_CAP = 4 << 30
HOSTILE_TIMEOUT = 60.0


def _capped(disk_limit: int | None) -> Callable[[], None]:
    """preexec_fn: at most MEMORY_CAP bytes of memory, and ``disk_limit`` bytes a file (the
    writes past it fail as on a full disk instead of killing the process)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        if disk_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (disk_limit, disk_limit))
    return limit


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder``: its kind, and for all but folders its size and
    modification time (a folder's own time changes with any file made and removed in it)."""
    entries = {}
    for path in folder.rglob("*"):
        status = path.lstat()
        folder_only = stat.S_ISDIR(status.st_mode)
        entries[str(path.relative_to(folder))] = (status.st_mode, *(() if folder_only else (
            status.st_size, status.st_mtime_ns)))
    return entries


def hostile_command(case: Case) -> dict:
    """Run one case as a process in a fresh scratch folder; what happened and whether it held."""
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        argv = [*PROGRAMS[case.argv[0]], *materialize(case.argv[1:], scratch)]
        before = snapshot(scratch)
        try:
            result = subprocess.run(argv, capture_output=True, text=True, cwd=scratch,
                                    stdin=subprocess.DEVNULL, timeout=HOSTILE_TIMEOUT,
                                    preexec_fn=_capped(case.disk_limit),
                                    env={**os.environ, "PATH": "/usr/games:" + os.environ["PATH"]})
            code, error = result.returncode, result.stderr
        except subprocess.TimeoutExpired as expired:
            code, error = "timeout", (expired.stderr or b"").decode(errors="replace")
        after = snapshot(scratch)
        if case.accepted or case.disk_limit is None:
            untouched = case.accepted or after == before
        else:  # the work done before the disk filled may stay; no changed or stray file
            untouched = all(after.get(name) == entry for name, entry in before.items()) and \
                not any(name.endswith(".tmp") for name in after)
        ok = answered_well(case, code, error) and untouched
        return {"case": case.name, "ok": ok, "code": code, "stderr": error[-300:]}


def _read_lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def hostile_uci(case: UciCase) -> dict:
    """Run one UCI exchange; the engine must explain a refusal and still answer legally."""
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        lines = [" ".join(materialize(line.split(" "), scratch)) for line in case.lines]
        process = subprocess.Popen([*PROGRAMS[case.engine[0]], *case.engine[1:]],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=scratch,
                                   preexec_fn=_capped(None))
        output: queue.Queue = queue.Queue()
        threading.Thread(target=_read_lines, args=(process.stdout, output), daemon=True).start()
        seen: list[str] = []
        assert process.stdin is not None
        try:
            process.stdin.write("uci\nisready\n" + "\n".join(lines) + "\n")
            process.stdin.flush()
            deadline = time.monotonic() + HOSTILE_TIMEOUT
            while not any(line.startswith("bestmove") for line in seen):
                line = output.get(timeout=max(0.01, deadline - time.monotonic()))
                if line is None:
                    break
                seen.append(line)
            process.stdin.write("isready\nquit\n")
            process.stdin.flush()
            process.wait(timeout=30)
        except (queue.Empty, subprocess.TimeoutExpired, BrokenPipeError):
            pass
        finally:
            if process.poll() is None:
                process.kill()
            error = process.communicate()[1]
        answers = [line.split()[1] for line in seen if line.startswith("bestmove")]
        complaints = [line for line in seen if line.startswith("info string")]
        ok = (played_well(case, lines, seen) and process.returncode == 0
              and "Traceback" not in error)
        return {"case": case.name, "ok": ok, "bestmove": answers[-1:],
                "info_strings": [line[:160] for line in complaints][-3:], "stderr": error[-300:]}


def trial_hostile() -> dict:
    """Every case of tests/hostile_inputs.py as a real process; the count that held."""
    results = [hostile_command(case) for case in CASES] + [hostile_uci(case)
                                                            for case in UCI_CASES]
    return {"tried": len(results), "held": sum(result["ok"] for result in results),
            "failures": [result for result in results if not result["ok"]]}


def main() -> None:
    hostile = trial_hostile()
    bad = trial_bad_invocations()
    selfplay = kill_cycles([PY, "-m", "minizero", "selfplay", "--game", "hexapawn:3x3",
                            "--workers", "1", "--games", "6", "--shard-games", "2",
                            "--train-steps", "30", "--simulations", "12", "--generations", "3",
                            "--channels", "8", "--quiet"], cycles=10, seed=1)
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "data.npz"
        subprocess.run([PY, "-m", "hexapawn", "dataset", "--size", "4x4", "--out", str(data)],
                       check=True, capture_output=True)
        training = kill_cycles([PY, "-m", "minizero", "train", "--game", "hexapawn:4x4",
                                "--data", str(data), "--epochs", "4", "--channels", "8",
                                "--batch-size", "128", "--quiet"], cycles=10, seed=2)
    uci = trial_uci()
    rows = [
        ["bad command lines (minizero, nnue, hexapawn)", bad["tried"],
         f"{bad['held']} refused with one error line, nothing written"],
        ["kill -9 during `minizero selfplay`, then --resume", selfplay["kills"],
         f"end identical to an unbroken run: {selfplay['identical_end']}"],
        ["kill -9 during `minizero train`, then --resume", training["kills"],
         f"end identical to an unbroken run: {training['identical_end']}"],
        ["malformed UCI exchanges with minizero-uci", uci["tried"],
         f"{uci['held']} answered readyok and a legal bestmove"],
        ["hostile input to the newer commands and engines (tests/hostile_inputs.py)",
         hostile["tried"], f"{hostile['held']} handled: a refusal in one line naming the file "
         "or option with nothing touched, success where the input is valid, over UCI a reason "
         "and a legal answer"],
    ]
    table = markdown_table(["trial", "count", "held"], rows)
    write_results("reliability", {"bad_invocations": bad, "selfplay_kills": selfplay,
                                  "train_kills": training, "uci": uci, "hostile": hostile},
                  table)


if __name__ == "__main__":
    main()
