"""Tables solved on a Ray cluster of two nodes on this machine (``ray.cluster_utils``): the
same bytes as a local build, and a node removed mid-build loses and doubles nothing."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from minizero.chessgame.tablebase.probe import build_tables
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature
from minizero.chessgame.tablebase.storage import table_path
from minizero.cluster import ClusterSpec

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[cluster]'")


@pytest.mark.slow
def test_a_node_removed_mid_build_loses_nothing(tablebase_dir: Path, tmp_path: Path) -> None:
    from ray.cluster_utils import Cluster

    for signature in all_signatures(3):  # the 3-man tables as a finished earlier run left them
        shutil.copy(table_path(tablebase_dir, signature), tmp_path)
    wanted = [parse_signature("KRvKN"), parse_signature("KBBvK")]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
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
    finally:
        ray.shutdown()
        cluster.shutdown()
    for signature in wanted:  # the same bytes as the local build of the session's tables
        assert table_path(tmp_path, signature).read_bytes() == \
            table_path(tablebase_dir, signature).read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        table_path(tmp_path, s).name for s in [*all_signatures(3), *wanted])
