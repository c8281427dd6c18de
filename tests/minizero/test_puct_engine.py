"""The PUCT chess engine: through python-chess's UCI client, and its search API directly."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from pathlib import Path

import chess
import chess.engine
import numpy as np
import pytest
import torch

from minizero.checkpoint import save_checkpoint
from minizero.chessgame.puct_engine import PuctEngine, PuctEngineConfig
from minizero.chessgame.search import Limits
from minizero.nn.network import NetworkConfig, PolicyValueNet


def write_net(path: Path, input_shape: tuple[int, int, int] = (35, 8, 8),
              actions: int = 4672, seed: int = 0) -> str:
    config = NetworkConfig(input_shape, actions, blocks=1, channels=8, value_head="wdl")
    torch.manual_seed(seed)
    network = PolicyValueNet(config)
    save_checkpoint(path, config={"network": dataclasses.asdict(config)},
                    model=network.state_dict())
    return str(path)


@pytest.fixture(scope="module")
def tiny_net(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_net(tmp_path_factory.mktemp("net") / "tiny.pt")


def command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "minizero.chessgame.puct_engine", *arguments]


def test_complete_game_through_uci_with_legal_moves_only(tiny_net: str) -> None:
    board = chess.Board()
    with chess.engine.SimpleEngine.popen_uci(command("--weights", tiny_net), timeout=60) as engine:
        while not board.is_game_over(claim_draw=True):
            result = engine.play(board, chess.engine.Limit(nodes=8), info=chess.engine.INFO_ALL)
            assert result.move in board.legal_moves  # python-chess checks it too
            board.push(result.move)
        timed = engine.play(chess.Board(), chess.engine.Limit(white_clock=2, white_inc=0.05),
                            info=chess.engine.INFO_ALL)
        assert timed.move in chess.Board().legal_moves
        assert timed.info["nodes"] > 0 and "score" in timed.info and timed.info["pv"]
    assert board.outcome(claim_draw=True) is not None


def test_stop_during_infinite_answers_within_100_ms(tiny_net: str) -> None:
    """The engine returns within 100 ms of the stop signal (one network batch); through the
    UCI pipes and python-chess on this loaded 2-core machine, within a second."""
    engine = PuctEngine(tiny_net)
    engine.prepare()
    stop = threading.Event()
    finished = []
    thread = threading.Thread(target=lambda: finished.append(
        (engine.search(chess.Board(), Limits(), stop_event=stop), time.perf_counter())))
    thread.start()
    time.sleep(0.5)
    stop.set()
    stopped = time.perf_counter()
    thread.join(timeout=5)
    result, returned = finished[0]
    assert returned - stopped < 0.1 and result.nodes > 0
    with chess.engine.SimpleEngine.popen_uci(command("--weights", tiny_net), timeout=60
                                             ) as uci, uci.analysis(chess.Board()) as analysis:
        time.sleep(0.6)
        began = time.perf_counter()
        analysis.stop()
        analysis.wait()
        assert time.perf_counter() - began < 1.0
        assert analysis.info.get("nodes", 0) > 0


def test_nodes_are_deterministic_and_the_tree_is_reused(tiny_net: str) -> None:
    board = chess.Board()
    board.push_uci("e2e4")
    results = []
    for _ in range(2):
        engine = PuctEngine(tiny_net)
        results.append(engine.search(board, Limits(nodes=100)))
    first, second = results
    assert first.nodes == second.nodes == 100
    assert first.pv == second.pv and first.score == second.score
    assert engine.tree is not None
    counts = engine.tree.root.child_visits.copy()
    assert counts.sum() == 100
    # Two plies along the PV: the subtree below them is kept.
    reply = first.pv[1] if len(first.pv) > 1 else None
    board.push(first.pv[0])
    if reply is not None:
        board.push(reply)
        kept = engine._root(board).root.visits
        assert kept > 0
    again = engine.search(board, Limits(nodes=50))
    assert again.nodes == 50 and again.best_move in board.legal_moves


@pytest.mark.parametrize("moves", [("d7d5",), ("a7a6", "h7h6"), ("g8h6", "b8a6", "f7f6")])
def test_searchmoves_restrict_the_root_and_are_forgotten_after(moves: tuple[str, ...],
                                                               tiny_net: str) -> None:
    board = chess.Board()
    board.push_uci("e2e4")
    allowed = tuple(chess.Move.from_uci(move) for move in moves)
    engine = PuctEngine(tiny_net)
    result = engine.search(board, Limits(nodes=48, searchmoves=allowed))
    assert result.best_move in allowed and result.nodes == 48
    assert engine.tree is not None and len(engine.tree.root.actions) == len(allowed)
    assert engine.tree.root.child_visits.sum() == 48  # every simulation among them
    engine.search(board, Limits(nodes=16))  # the same position without searchmoves
    assert len(engine.tree.root.actions) == board.legal_moves.count()


def test_bad_weights_keep_the_previous_net(tiny_net: str, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    foreign = write_net(tmp_path / "hexapawn.pt", (3, 3, 3), 9)
    engine = PuctEngine(tiny_net)
    engine.prepare()
    network = engine.network
    for path in (str(corrupt), foreign, str(tmp_path / "missing.pt")):
        with pytest.raises(ValueError, match=Path(path).name):
            engine.set_option("WeightsFile", path)
        assert engine.network is network
    process = subprocess.Popen(command("--weights", tiny_net), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(line: str) -> list[str]:
        process.stdin.write(line + "\n")
        process.stdin.flush()
        replies = []
        while not replies or not replies[-1].startswith(("bestmove", "readyok")):
            line = process.stdout.readline()
            assert line, "the engine exited"
            replies.append(line.strip())
        return replies

    try:
        replies = ask(f"setoption name WeightsFile value {corrupt}\nisready")
        assert any(f"info string {corrupt}: not a readable checkpoint" in line
                   for line in replies)
        # the previous net still plays
        assert ask("position startpos\ngo nodes 16")[-1] != "bestmove 0000"
        time.sleep(0.5)  # the server's search thread outlives its bestmove line briefly
        began = time.perf_counter()
        bounded = ask("go depth many")  # the only limit is invalid: bounded, not endless
        assert time.perf_counter() - began < 10
        assert any("no valid limit" in line for line in bounded)
    finally:
        process.communicate("quit\n", timeout=30)
    cli = subprocess.run(command("--weights", foreign), capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 2
    assert cli.stderr.count("\n") == 1 and "hexapawn.pt" in cli.stderr


def test_mate_in_one_is_found_and_reported(tiny_net: str) -> None:
    board = chess.Board("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1")
    engine = PuctEngine(tiny_net, config=PuctEngineConfig(batch_size=8))
    result = engine.search(board, Limits(nodes=400))
    assert result.best_move == chess.Move.from_uci("a1a8")
    assert result.score > 20000
    assert np.isfinite(result.score)


def test_the_shipped_net_loads_lazily_and_plays() -> None:
    engine = PuctEngine()
    assert engine.network is None  # nothing loaded until the first search or isready
    result = engine.search(chess.Board(), Limits(nodes=8))
    assert engine.network is not None and result.best_move in chess.Board().legal_moves
    assert engine.network.config.input_shape == (35, 8, 8)


def test_precision_option_switches_the_number_format(tiny_net: str) -> None:
    engine = PuctEngine(tiny_net, precision="bfloat16")
    assert engine.search(chess.Board(), Limits(nodes=32)).best_move in chess.Board().legal_moves
    assert engine.network.stem[0].weight.dtype == torch.bfloat16
    engine.set_option("Precision", "float32")
    assert engine.network.stem[0].weight.dtype == torch.float32
    with pytest.raises(ValueError, match="precision must be one of"):
        engine.set_option("Precision", "int4")
    assert engine.network.stem[0].weight.dtype == torch.float32 and engine.precision == "float32"
    option = next(option for option in engine.options() if option.name == "Precision")
    assert option.declaration() == ("option name Precision type combo default float32 "
                                    "var auto var float32 var bfloat16 var int8")
    assert option.parse("BFloat16") == "bfloat16"
    with pytest.raises(ValueError, match="must be one of auto, float32, bfloat16"):
        option.parse("int4")
    with chess.engine.SimpleEngine.popen_uci(command("--weights", tiny_net, "--precision",
                                                     "bfloat16"), timeout=60) as uci:
        assert uci.options["Precision"].var == ["auto", "float32", "bfloat16", "int8"]
        assert uci.options["Precision"].default == "bfloat16"
        uci.configure({"Precision": "float32"})
        move = uci.play(chess.Board(), chess.engine.Limit(nodes=16)).move
        assert move in chess.Board().legal_moves


def test_the_bfloat16_shipped_net_follows_the_float32_one() -> None:
    """bfloat16 keeps 8 of float32's 24 significant bits: graded by the float32 net on the
    positions of random games, it picks the same favourite move almost always and its values
    stay close."""
    import copy
    import random

    from minizero.chessgame import encoding
    from minizero.chessgame.puct_engine import SHIPPED_NET
    from minizero.nn.network import load_network

    network = load_network(str(SHIPPED_NET))
    reduced = copy.deepcopy(network).to(torch.bfloat16)
    rng = random.Random(3)
    planes, legal = [], []
    for _ in range(8):
        board = chess.Board()
        for _ in range(30):
            moves = list(board.legal_moves)
            if not moves:
                break
            planes.append(encoding.encode_board(board))
            legal.append(encoding.legal_mask(board))
            board.push(rng.choice(moves))
    planes_batch, legal_batch = np.stack(planes), np.stack(legal)
    policy, value = network.predict(planes_batch, legal_batch)
    policy_bf16, value_bf16 = reduced.predict(planes_batch, legal_batch)
    assert np.mean(policy.argmax(1) == policy_bf16.argmax(1)) >= 0.9
    assert np.abs(value - value_bf16).mean() < 0.05
    assert np.abs(policy - policy_bf16).sum(1).mean() < 0.1


def test_threads_option_sets_the_network_threads_and_refuses_out_of_range(tiny_net: str
                                                                          ) -> None:
    engine = PuctEngine(tiny_net)
    option = next(option for option in engine.options() if option.name == "Threads")
    assert option.declaration() == "option name Threads type spin default 1 min 1 max 64"
    for bad in ("0", "65"):
        with pytest.raises(ValueError, match=r"Threads must be in \[1, 64\]"):
            option.parse(bad)
    with pytest.raises(ValueError, match=r"Threads must be in \[1, 64\]"):
        engine.set_option("Threads", 65)
    engine.set_option("Threads", 2)
    assert engine.config.threads == 2
    engine.search(chess.Board(), Limits(nodes=16))
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)
