"""Shared fixtures: the real peers, skipped with a reason when absent (CI installs them)."""

from __future__ import annotations

import pytest

from minizero.peers import find_stockfish, find_sunfish


@pytest.fixture(scope="session")
def stockfish_path() -> str:
    try:
        return find_stockfish()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def sunfish_command() -> str:
    try:
        return find_sunfish()
    except FileNotFoundError as error:
        pytest.skip(str(error))
