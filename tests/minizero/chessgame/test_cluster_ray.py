"""Units on a Ray cluster of two nodes on this machine (``ray.cluster_utils``): a match gives
the same games as on local processes, labelling the same shards; tables solved on it are the
same bytes as a local build, and a node removed mid-build loses and doubles nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import chess
import numpy as np
import pytest

from minizero.chessgame.data import ChessDataConfig, generate, read_shard
from minizero.chessgame.match import EngineSpec, MatchConfig, run_match
from minizero.chessgame.tablebase.probe import build_tables
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature
from minizero.chessgame.tablebase.storage import table_path
from minizero.cluster import ClusterSpec

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[cluster]'")


@pytest.fixture(scope="module")
def two_nodes():
    """A head node and a worker node of one CPU each, joined by this process."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    yield cluster, worker
    ray.shutdown()
    cluster.shutdown()


@pytest.mark.slow
def test_a_match_on_the_cluster_plays_the_same_games(two_nodes) -> None:
    openings = [chess.STARTING_FEN,
                "rnbqkb1r/pppp1ppp/5n2/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"]
    config = MatchConfig(games=2, nodes=150, base_time=None, resign_score=600, resign_moves=2,
                         draw_score=30, draw_moves=4, draw_after=20)
    engines = EngineSpec.parse("minizero"), EngineSpec.parse("minizero", ["Hash=8"])
    local = run_match(*engines, openings, config)
    spread = run_match(*engines, openings, config, cluster=ClusterSpec("ray"))
    assert [game.index for game in spread.games] == [0, 1]
    for ours, theirs in zip(local.games, spread.games, strict=True):
        assert (ours.white, ours.result, ours.plies) == (theirs.white, theirs.result,
                                                          theirs.plies)
        assert ours.pgn.split("\n\n")[-1] == theirs.pgn.split("\n\n")[-1]  # the same moves


@pytest.mark.slow
def test_labelling_on_the_cluster_writes_the_same_shards(two_nodes, stockfish_path: str,
                                                         tmp_path: Path) -> None:
    config = ChessDataConfig(positions=40, depth=1, workers=2, shard_size=10, seed=3,
                             max_plies=12)
    generate(config, stockfish_path, tmp_path / "local", quiet=True)
    generate(config, stockfish_path, tmp_path / "ray", quiet=True, cluster=ClusterSpec("ray"))
    names = sorted(path.name for path in (tmp_path / "local").iterdir())
    assert len(names) >= 4 and names == sorted(path.name for path in (tmp_path / "ray").iterdir())
    for name in names:
        local = read_shard(tmp_path / "local" / name, config.history)
        spread = read_shard(tmp_path / "ray" / name, config.history)
        for field, values in local.items():
            assert np.array_equal(values, spread[field]), (name, field)


@pytest.mark.slow
def test_selfplay_on_the_cluster_plays_the_same_games(two_nodes, tmp_path: Path) -> None:
    """Two generations of Hexapawn self-play: the same shards through Ray tasks as through
    local processes (the second generation's games use the first one's trained weights)."""
    from minizero.cli import main

    arguments = ["selfplay", "--game", "hexapawn:3x3", "--generations", "2", "--games", "4",
                 "--shard-games", "2", "--workers", "2", "--simulations", "8",
                 "--train-steps", "2", "--batch-size", "16", "--quiet"]
    assert main([*arguments, "--out", str(tmp_path / "local")]) == 0
    assert main([*arguments, "--out", str(tmp_path / "ray"), "--cluster", "ray"]) == 0
    names = sorted(path.name for path in (tmp_path / "local" / "replay").glob("*.npz"))
    assert len(names) == 4
    assert names == sorted(path.name for path in (tmp_path / "ray" / "replay").glob("*.npz"))
    for name in names:
        with np.load(tmp_path / "local" / "replay" / name) as local, \
                np.load(tmp_path / "ray" / "replay" / name) as spread:
            assert sorted(local.files) == sorted(spread.files)
            for field in local.files:
                assert np.array_equal(local[field], spread[field]), (name, field)


@pytest.mark.slow
def test_nnue_data_and_relabel_on_the_cluster_write_the_same_shards(
        two_nodes, stockfish_path: str, tmp_path: Path, monkeypatch) -> None:
    from nnue.data import GenerateConfig, read_shard
    from nnue.data import generate as generate_nnue

    config = GenerateConfig(positions=40, depth=1, workers=2, shard_size=10, seed=3,
                            max_plies=16)
    generate_nnue(config, stockfish_path, tmp_path / "local", quiet=True)
    generate_nnue(config, stockfish_path, tmp_path / "ray", quiet=True,
                  cluster=ClusterSpec("ray"))
    names = sorted(path.name for path in (tmp_path / "local").iterdir())
    assert len(names) >= 4 and names == sorted(path.name for path in (tmp_path / "ray").iterdir())
    for name in names:
        local, spread = read_shard(tmp_path / "local" / name), read_shard(tmp_path / "ray" / name)
        for field in ("pieces", "side_to_move", "score", "result", "game_id"):
            assert np.array_equal(getattr(local, field), getattr(spread, field)), (name, field)
    # relabelled at another depth, chunk by chunk on the cluster: the same scores as locally
    from nnue.relabel import CHUNK, relabel

    positions = read_shard(tmp_path / "local" / names[0])
    assert len(positions) > 1 and CHUNK > 1
    monkeypatch.setattr("nnue.relabel.CHUNK", 3)  # several units from a small shard
    relabel([tmp_path / "local"], tmp_path / "relabel-local", stockfish_path, 3, quiet=True)
    relabel([tmp_path / "local"], tmp_path / "relabel-ray", stockfish_path, 3, quiet=True,
            cluster=ClusterSpec("ray"))
    for name in names:
        assert np.array_equal(read_shard(tmp_path / "relabel-local" / name).score,
                              read_shard(tmp_path / "relabel-ray" / name).score)


def test_a_node_without_the_stockfish_binary_is_one_error_naming_it(two_nodes,
                                                                   tmp_path: Path) -> None:
    config = ChessDataConfig(positions=10, depth=1, workers=1, shard_size=10)
    with pytest.raises(ValueError, match="no-such-stockfish: cannot start the engine") as error:
        generate(config, str(tmp_path / "no-such-stockfish"), tmp_path / "data", quiet=True,
                 cluster=ClusterSpec("ray"))
    assert "\n" not in str(error.value)
    assert not any((tmp_path / "data").iterdir())


def test_a_node_without_stockfish_is_named_once_and_skipped(two_nodes, stockfish_path: str,
                                                            tmp_path: Path, capfd,
                                                            monkeypatch) -> None:
    """Only a third node finds the teacher on its PATH: units that land on the other two move
    to it, each of those nodes named once on stderr for the whole command (a relabelling opens
    one set of units per shard), and every position is labelled."""
    from nnue.data import GenerateConfig
    from nnue.data import generate as generate_nnue
    from nnue.relabel import relabel

    cluster, _ = two_nodes
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "teacher-stockfish").symlink_to(stockfish_path)
    node = cluster.add_node(num_cpus=1, env_vars={"PATH": f"{folder}:{os.environ['PATH']}"})
    try:
        config = ChessDataConfig(positions=40, depth=1, workers=2, shard_size=10, max_plies=12)
        labelled = generate(config, "teacher-stockfish", tmp_path / "data", quiet=True,
                            cluster=ClusterSpec("ray"))
        assert labelled >= 40 and len(list((tmp_path / "data").iterdir())) == 4
        generate_nnue(GenerateConfig(positions=20, depth=1, workers=1, shard_size=10),
                      stockfish_path, tmp_path / "nnue", quiet=True)
        monkeypatch.setattr("nnue.relabel.CHUNK", 3)  # several units from each shard
        assert relabel([tmp_path / "nnue"], tmp_path / "relabelled", "teacher-stockfish", 2,
                       quiet=True, cluster=ClusterSpec("ray")) >= 20
    finally:
        cluster.remove_node(node)
    named = [line.split("(")[1][:8] for line in capfd.readouterr().err.splitlines()
             if line.startswith("warning: Ray node")]
    assert 1 <= len(named) == len(set(named)) <= 2 and node.node_id[:8] not in named


@pytest.mark.slow
def test_a_build_on_the_cluster_resumes_after_kill_9_of_the_driver(two_nodes, tablebase_dir: Path,
                                                                   tmp_path: Path) -> None:
    cluster, _ = two_nodes
    for signature in all_signatures(3):
        shutil.copy(table_path(tablebase_dir, signature), tmp_path)
    first, second = table_path(tmp_path, parse_signature("KRvKN")), \
        table_path(tmp_path, parse_signature("KBBvK"))
    script = ("from minizero.chessgame.tablebase.probe import build_tables\n"
              "from minizero.chessgame.tablebase.signature import parse_signature\n"
              "from minizero.cluster import ClusterSpec\n"
              f"build_tables([parse_signature('KRvKN'), parse_signature('KBBvK')], "
              f"{str(tmp_path)!r}, quiet=True, cluster=ClusterSpec('ray'), workers=1)\n")
    environment = {**os.environ, "RAY_ADDRESS": cluster.address}
    driver = subprocess.Popen([sys.executable, "-c", script], env=environment)
    deadline = time.monotonic() + 180
    while not first.exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.kill()  # kill -9, while the second table is being solved
    driver.wait()
    assert first.exists() and not second.exists()
    written = first.stat().st_mtime_ns
    again = subprocess.run([sys.executable, "-c", script], env=environment, timeout=180)
    assert again.returncode == 0
    assert first.stat().st_mtime_ns == written  # the finished table was not solved again
    for path in (first, second):
        assert path.read_bytes() == (tablebase_dir / path.name).read_bytes()


@pytest.mark.slow
def test_a_node_removed_mid_build_loses_nothing(two_nodes, tablebase_dir: Path,
                                                 tmp_path: Path) -> None:
    cluster, worker = two_nodes
    for signature in all_signatures(3):  # the 3-man tables as a finished earlier run left them
        shutil.copy(table_path(tablebase_dir, signature), tmp_path)
    wanted = [parse_signature("KRvKN"), parse_signature("KBBvK")]
    failures = []

    def build() -> None:
        try:
            build_tables(wanted, tmp_path, cluster=ClusterSpec("ray"), workers=2,
                         quiet=True)
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    thread = threading.Thread(target=build)
    thread.start()
    time.sleep(2.0)  # both tables are being solved, one on each node
    assert not any(table_path(tmp_path, signature).exists() for signature in wanted)
    cluster.remove_node(worker)
    thread.join(timeout=240)
    assert not thread.is_alive() and not failures, failures
    for signature in wanted:  # the same bytes as the local build of the session's tables
        assert table_path(tmp_path, signature).read_bytes() == \
            table_path(tablebase_dir, signature).read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        table_path(tmp_path, s).name for s in [*all_signatures(3), *wanted])
