"""Tables built once for the whole test session (3 men, and three 4-man tables), in a
temporary folder: the tests never touch the user's cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from minizero.chessgame.tablebase.probe import build_tables
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature

DATA = Path(__file__).resolve().parents[2] / "data"
# 4-man tables built in the suite: no pawns, so each needs only 3-man tables (about 5 s each);
# the benchmark (make bench BENCH=tablebase) builds and checks all 35.
FOUR_MEN = ("KQvKR", "KRvKN", "KBNvK", "KBBvK")


@pytest.fixture(scope="session")
def tablebase_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tablebases")
    build_tables(all_signatures(3) + [parse_signature(name) for name in FOUR_MEN], directory,
                 quiet=True)
    return directory
