"""``minizero selfplay --cluster ray --async`` on a Ray cluster of two nodes on this machine
(``ray.cluster_utils``): players that keep playing while the learner trains fill every
generation with its shards, each written once with the weights version that played it; a node
removed mid-run and a driver killed with kill -9 lose nothing written and double nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from minizero.cli import main

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[cluster]'")

ARGUMENTS = ["selfplay", "--game", "hexapawn:3x3", "--games", "4", "--shard-games", "2",
             "--workers", "2", "--simulations", "8", "--train-steps", "2", "--batch-size", "16",
             "--window", "2", "--quiet", "--cluster", "ray", "--async"]


@pytest.fixture(scope="module")
def cluster():
    """A head node and a worker node of one CPU each, joined by this process."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _check_run(out: Path, generations: int) -> list[dict]:
    """Every generation has its two shards once, each with a version the window allowed, and
    a metrics line with the staleness of the games it trained on."""
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [record["generation"] for record in records] == list(range(1, generations + 1))
    for record in records:
        generation = record["generation"]
        shards = sorted((out / "replay").glob(f"gen-{generation:04d}-part-*.npz"))
        assert [path.name[-6:-4] for path in shards] == ["00", "01"]
        versions = [json.loads(path.with_suffix(".json").read_text())["version"]
                    for path in shards]
        assert all(generation - 1 - 2 < version <= generation - 1 for version in versions)
        assert 0 <= record["staleness"] <= 1 and record["games"] == 4
    return records


def test_players_fill_every_generation_once(cluster, tmp_path: Path) -> None:
    assert main([*ARGUMENTS, "--generations", "3", "--out", str(tmp_path)]) == 0
    records = _check_run(tmp_path, 3)
    assert records[0]["staleness"] == 0  # the first generation: all played by version 0
    assert (tmp_path / "checkpoints" / "gen-0003.pt").exists()


def test_async_needs_a_ray_cluster(tmp_path: Path, capsys) -> None:
    assert main([*ARGUMENTS[:-3], "--async", "--out", str(tmp_path)]) == 2
    assert "--async needs a Ray cluster: --cluster ray" in capsys.readouterr().err


def test_a_node_removed_mid_run_loses_and_doubles_nothing(cluster, tmp_path: Path) -> None:
    node = cluster.add_node(num_cpus=1)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            assert main([*ARGUMENTS, "--workers", "3", "--generations", "8",
                         "--out", str(tmp_path)]) == 0
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not list((tmp_path / "replay").glob("gen-0002-*.npz")) and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.remove_node(node)  # its player's call is replayed by a player started elsewhere
    thread.join(timeout=120)
    assert not thread.is_alive() and not failures, failures
    _check_run(tmp_path, 8)


def test_a_run_resumes_after_kill_9_of_the_driver(cluster, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "minizero.cli", *ARGUMENTS, "--out", str(tmp_path)]
    environment = {**os.environ, "RAY_ADDRESS": cluster.address}
    driver = subprocess.Popen([*command, "--generations", "1000"], env=environment,
                              stderr=subprocess.DEVNULL)
    metrics = tmp_path / "metrics.jsonl"
    deadline = time.monotonic() + 90
    while (not metrics.exists() or len(metrics.read_text().splitlines()) < 3) \
            and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.kill()  # kill -9, while the players play on
    driver.wait()
    done = len(metrics.read_text().splitlines())
    assert done >= 3
    written = {path.name: path.stat().st_mtime_ns for path in (tmp_path / "replay").glob("*.npz")}
    again = subprocess.run([*command, "--generations", str(done + 2), "--resume"],
                           env=environment, timeout=120, stderr=subprocess.DEVNULL)
    assert again.returncode == 0
    _check_run(tmp_path, done + 2)
    for name, stamp in written.items():  # a shard written before the kill was kept as it was
        assert (tmp_path / "replay" / name).stat().st_mtime_ns == stamp
