"""``minizero.cluster``: the --cluster values, units on local processes, and one line for a
cluster that cannot be joined."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minizero.cluster import LOCAL, ClusterSpec, Units, cluster_spec

ROOT = Path(__file__).resolve().parents[2]


def test_cluster_values() -> None:
    assert cluster_spec("local") == LOCAL
    assert cluster_spec("ray") == ClusterSpec("ray")
    assert cluster_spec("ray://head:10001") == ClusterSpec("ray", "ray://head:10001")
    for bad in ("spark", "ray://", "Ray", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="local, ray or ray://HOST:PORT"):
            cluster_spec(bad)


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def _fails(value: int) -> int:
    raise ValueError(f"unit {value} is bad")


@pytest.mark.parametrize("workers", [1, 2])
def test_local_units_hand_back_every_result_once(workers: int) -> None:
    """One worker runs units in this process; two run them in two other processes."""
    with Units(LOCAL, workers) as units:
        assert units.capacity == workers
        for value in range(6):
            units.submit(f"unit {value}", _pid_and_square, value)
        results = {}
        while units.running:
            key, (pid, square) = units.next_done()
            assert key not in results
            results[key] = square
            assert (pid == os.getpid()) == (workers == 1)
    assert results == {f"unit {value}": value * value for value in range(6)}


def test_a_units_error_reaches_the_driver() -> None:
    with Units(LOCAL, 2) as units:
        units.submit("bad", _fails, 3)
        with pytest.raises(ValueError, match="unit 3 is bad"):
            units.next_done()
        with pytest.raises(RuntimeError, match="no unit is running"):
            units.next_done()


def test_without_ray_the_extra_is_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    with pytest.raises(ValueError, match=r"needs Ray: pip install -e '\.\[cluster\]'"):
        Units(ClusterSpec("ray"))


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1"])
def test_an_address_nobody_answers_at_is_one_line_at_once(address: str, monkeypatch) -> None:
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[cluster]'")
    import ray

    if ray.is_initialized():
        pytest.skip("this process has joined a Ray cluster already")
    if address.startswith("ray://"):
        spec = ClusterSpec("ray", address)
    else:
        monkeypatch.setenv("RAY_ADDRESS", address)
        spec = ClusterSpec("ray")
    with pytest.raises(ValueError, match=f"cannot reach the Ray cluster at {address}"):
        Units(spec)


def _write_pid_and_sleep(folder: str) -> None:
    Path(folder, str(os.getpid())).touch()
    time.sleep(60)


def test_local_workers_die_with_a_killed_driver(tmp_path: Path) -> None:
    """kill -9 of the command: its workers (children of a fork server) end within seconds."""
    driver = subprocess.Popen([sys.executable, "-c", (
        "from minizero.cluster import LOCAL, Units\n"
        "from tests.minizero.test_cluster import _write_pid_and_sleep\n"
        "units = Units(LOCAL, 2)\n"
        f"units.submit(0, _write_pid_and_sleep, {str(tmp_path)!r})\n"
        f"units.submit(1, _write_pid_and_sleep, {str(tmp_path)!r})\n"
        "units.next_done()\n")], cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(path.name) for path in tmp_path.iterdir()]
    assert len(workers) == 2
    driver.kill()
    driver.wait()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_cluster_of_another_ray_version_is_one_line(monkeypatch) -> None:
    """Ray refuses to join a cluster started by another Ray or Python version with a message of
    several lines; the user gets its first line, naming the cluster."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[cluster]'")
    if ray.is_initialized():
        pytest.skip("this process has joined a Ray cluster already")

    def refuse(**_: object) -> None:
        raise RuntimeError("Version mismatch: The cluster was started with:\n    Ray: 2.9.0\n"
                           "    Python: 3.10.12\nThis process was started with:\n"
                           "    Ray: 2.60.0\n    Python: 3.11.7\n")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ValueError) as error:
        Units(ClusterSpec("ray"))
    assert str(error.value) == ("cannot join the Ray cluster at this machine: Version mismatch: "
                                "The cluster was started with:")
