"""The fast solver against the naive one, and the facts every Hexapawn book states."""

from __future__ import annotations

import numpy as np
import pytest

from hexapawn.game import Hexapawn, Position
from hexapawn.solve import Solution, solve
from tests.hexapawn import naive


def to_position(board: naive.Board, turn: str) -> Position:
    width = len(board[0])
    white = black = 0
    for row, line in enumerate(board):
        for col, char in enumerate(line):
            if char == "P":
                white |= 1 << (row * width + col)
            elif char == "p":
                black |= 1 << (row * width + col)
    return Position(white, black, 0 if turn == "w" else 1)


@pytest.mark.parametrize("size", [(3, 3), (4, 3), (3, 4), (4, 4)])
def test_solver_matches_naive_brute_force(size: tuple[int, int]) -> None:
    width, height = size
    game = Hexapawn(width, height)
    expected = naive.solve(width, height)
    solution = solve(width, height)
    assert len(solution) == len(expected)
    for (board, turn), (value, distance) in expected.items():
        position = to_position(board, turn)
        assert solution.value(position) == value, game.format(position)
        assert solution.distance(position) == distance, game.format(position)
        # Legal moves agree between the game's rules and the naive ones.
        assert len(game.legal_actions(position)) == len(naive.moves(board, turn))


def test_known_results() -> None:
    three = solve(3, 3)
    four = solve(4, 4)
    assert three.summary()["winner"] == "Black"
    assert four.summary()["winner"] == "White"
    # The book's count: 70 positions of 3x3 where a move must be chosen.
    assert three.summary()["with_moves"] == 70


def test_optimal_moves_are_exactly_the_best_children() -> None:
    solution = solve(4, 4)
    game = solution.game
    for index in range(0, len(solution), 7):
        position = solution.position(index)
        actions = game.legal_actions(position)
        if not actions:
            assert solution.optimal_moves(position) == []
            continue
        scores = {}
        for action in actions:
            child = solution.score(game.apply(position, action))
            scores[action] = -child + (1 if child > 0 else -1)
        best = max(scores.values())
        assert solution.score(position) == best
        assert solution.optimal_moves(position) == sorted(a for a in actions if scores[a] == best)


def test_save_and_load_round_trip(tmp_path) -> None:
    solution = solve(3, 4)
    path = tmp_path / "solution.npz"
    solution.save(path)
    loaded = Solution.load(path)
    assert (loaded.width, loaded.height) == (3, 4)
    for name in ("keys", "scores", "optimal_offsets", "optimal_actions"):
        assert np.array_equal(getattr(loaded, name), getattr(solution, name))
    assert not list(tmp_path.glob("*.tmp"))


def test_load_rejects_bad_files(tmp_path) -> None:
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.npz"):
        Solution.load(garbage)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    with pytest.raises(ValueError, match="foreign.npz"):
        Solution.load(foreign)
    with pytest.raises(ValueError, match="no such file"):
        Solution.load(tmp_path / "missing.npz")


def test_unreachable_position_and_impossible_sizes() -> None:
    solution = solve(3, 3)
    with pytest.raises(ValueError, match="not reachable"):
        solution.index(Position(0b1, 0b100000000, 1))
    with pytest.raises(ValueError, match="out of range"):
        solve(2, 9)
    with pytest.raises(ValueError, match="at most"):
        solve(8, 8)
