"""The planted bugs of ``benchmarks/mutants.py`` still fit the code: each one's text is found
exactly once in its file (a change to that line must update the mutant with it), and the tests
chosen for a mutant are those that import its module."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import mutation
from benchmarks.mutants import EARLIER, REALISTIC, TABLEBASE

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("mutant", EARLIER + REALISTIC + TABLEBASE, ids=lambda mutant: mutant.name)
def test_every_mutant_changes_one_place(mutant) -> None:
    text = (ROOT / mutant.path).read_text()
    assert text.count(mutant.old) == 1, f"{mutant.path} no longer holds the mutated text once"
    assert mutant.new != mutant.old
    assert all((ROOT / test).is_file() for test in mutant.tests)


def test_the_tests_that_see_a_module_import_it() -> None:
    ordering = mutation.tests_that_see("minizero/chessgame/ordering.py")
    assert ordering[0] == "tests/minizero/test_ordering.py"  # the direct importer first
    assert "tests/minizero/test_chess_search.py" in ordering  # through the search
    assert "tests/hexapawn/test_game.py" not in ordering
    assert len({mutant.name for mutant in REALISTIC}) == len(REALISTIC) >= 40
    packages = {mutant.path.split("/")[0] for mutant in REALISTIC}
    assert packages == {"minizero", "nnue", "hexapawn"}
