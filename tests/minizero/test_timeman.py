"""The time manager against hand-computed budgets, and the UCI server handing it the mover's clock.

The rule (``timeman.allocate_time``): usable = time left - Move Overhead - 2 x lag; target =
usable / moves to go (35 when unknown, at most 40) + 0.7 x (increment - lag); soft = min(target,
30% of usable), hard = min(2.5 x target, 30% of usable), 80% with one move to go.
"""

from __future__ import annotations

import chess
import pytest

from minizero.chessgame.protocol import Engine, Limits, SearchResult
from minizero.chessgame.timeman import TimeControl, allocate_time
from minizero.chessgame.uci import UciServer
from tests.helpers import UciLines


def test_the_increment_is_spent() -> None:
    # usable 59,950 ms; target 59,950 / 35 + 0.7 x 1,000 = 2,412.857 ms
    soft, hard = allocate_time(TimeControl(time_left=60_000, increment=1_000), overhead_ms=50)
    assert soft == pytest.approx(2.412857, abs=1e-6)
    assert hard == pytest.approx(2.5 * 2.412857, abs=1e-5)
    without = allocate_time(TimeControl(time_left=60_000), overhead_ms=50)
    assert without == pytest.approx((59_950 / 35 / 1000, 2.5 * 59_950 / 35 / 1000))


def test_moves_to_go_divides_what_is_left() -> None:
    soft, hard = allocate_time(TimeControl(time_left=60_000, movestogo=10), overhead_ms=50)
    assert (soft, hard) == pytest.approx((5.995, 14.9875))
    # More than 40 moves to go count as 40; one move to go may use 80% of the clock.
    assert allocate_time(TimeControl(60_000, movestogo=90), 50) == pytest.approx(
        (59_950 / 40 / 1000, 2.5 * 59_950 / 40 / 1000))
    assert allocate_time(TimeControl(60_000, movestogo=1), 50) == pytest.approx((47.96, 47.96))


def test_overhead_and_lag_are_kept_in_reserve() -> None:
    # usable = 10,000 - 400 - 2 x 100 = 9,400; target = 9,400 / 35 + 0.7 x (500 - 100)
    soft, hard = allocate_time(TimeControl(10_000, increment=500), overhead_ms=400, lag_ms=100)
    assert soft == pytest.approx((9_400 / 35 + 280) / 1000)
    # The ceiling, 30% of what is usable, caps both limits when the increment is large.
    soft, hard = allocate_time(TimeControl(1_000, increment=5_000), overhead_ms=0)
    assert soft == hard == pytest.approx(0.3)


def test_movetime_and_untimed() -> None:
    assert allocate_time(TimeControl(movetime=2_000), overhead_ms=50, lag_ms=30) == (None, 1.92)
    assert allocate_time(TimeControl(), overhead_ms=50) == (None, None)


class ClockReader(Engine):
    """Answers at once with the first legal move, remembering the limits it was given."""

    def __init__(self) -> None:
        self.limits: list[Limits] = []

    def search(self, board: chess.Board, limits: Limits, *args, **kwargs) -> SearchResult:
        self.limits.append(limits)
        return SearchResult(next(iter(board.legal_moves)), 0, 1, 1, 0.0)


@pytest.mark.parametrize("moves, clock", [("", (90_000, 2_000)), ("e2e4", (30_000, 500))],
                         ids=["white-to-move", "black-to-move"])
def test_the_server_reads_the_movers_clock(moves: str, clock: tuple[int, int]) -> None:
    engine = ClockReader()
    sink = UciLines()
    server = UciServer(engine, output=sink)
    server.handle(f"position startpos moves {moves}" if moves else "position startpos")
    server.handle("go wtime 90000 btime 30000 winc 2000 binc 500")
    sink.wait_for("bestmove")
    server.stop_search()
    expected = allocate_time(TimeControl(*clock), overhead_ms=50)
    limits = engine.limits[0]
    assert (limits.soft_time, limits.hard_time) == pytest.approx(expected)
