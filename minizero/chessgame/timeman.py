"""The time manager: how long to think about one move, from what ``go`` says about the clock.

A UCI GUI sends the time left on both clocks, the increments and sometimes the moves to the
next time control. The rule here spends a share of what is left after a fixed reserve (the
Move Overhead option) plus most of the increment, as two limits: a soft one after which no new
iteration starts and a hard one at which the search stops at once. ``ClockLag`` learns from the
clock how much time the GUI loses on each move beyond our own thinking (pipes, process
switches, a loaded machine) so that the engine does not lose on time where the GUI is slow.

Reference: Chess Programming Wiki, "Time Management". Try it: ``minizero-uci`` then ``go wtime
10000 btime 10000 winc 100 binc 100``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimeControl:
    """What ``go`` said about the mover's clock, in milliseconds (None when absent)."""

    time_left: int | None = None
    increment: int = 0
    movestogo: int | None = None
    movetime: int | None = None


def allocate_time(
    clock: TimeControl, overhead_ms: float, lag_ms: float = 0.0,
) -> tuple[float | None, float | None]:
    """(soft, hard) search time in seconds for one move; (None, None) when untimed.

    Soft: no new iteration starts after it; hard: the search stops at once. ``overhead_ms`` is
    a fixed reserve (the Move Overhead option) and ``lag_ms`` the time the GUI's clock loses
    on each move beyond our own thinking (``ClockLag``). The rule spends a share of what is left
    after the reserve plus the part of the increment the lag does not eat, so a 10 ms increment
    or ``movestogo 1`` cannot flag.
    """
    if clock.movetime is not None:  # use it all: no soft limit, the hard one at movetime
        return None, max(clock.movetime - overhead_ms - lag_ms, 1) / 1000
    if clock.time_left is None:
        return None, None
    usable = max(clock.time_left - overhead_ms - 2 * lag_ms, 0)
    moves_to_go = min(clock.movestogo, 40) if clock.movestogo else 35
    target = usable / moves_to_go + 0.7 * max(clock.increment - lag_ms, 0)
    # Keep a reserve: a busy machine can stall a process for a tenth of a second or more.
    ceiling = usable * (0.8 if moves_to_go == 1 else 0.3)
    soft = min(target, ceiling)
    hard = min(2.5 * target, ceiling)
    return max(soft, 0.0) / 1000, max(hard, 1.0) / 1000


class ClockLag:
    """How many milliseconds the GUI's clock loses per move beyond our own thinking.

    Our clock last move, less what we thought, plus the increment, should be our clock now;
    the shortfall is lag. The estimate is a slowly decaying maximum, so one stall is remembered
    for a while.
    """

    def __init__(self) -> None:
        self.lag_ms = 0.0
        self.last_clock: tuple[int, int, int] | None = None  # (ply, time left, increment)
        self.thought_ms: float | None = None  # how long the last search took, go to bestmove

    def forget(self) -> None:
        """A new game: the last clock no longer follows."""
        self.last_clock, self.thought_ms = None, None

    def observe(self, ply: int, time_left: int | None, increment: int, pondering: bool) -> None:
        """A ``go`` at ``ply`` with our clock at ``time_left`` ms (None: untimed)."""
        previous, self.last_clock = self.last_clock, None
        if time_left is None or pondering:
            return
        if previous is not None and previous[0] == ply - 2 and self.thought_ms is not None:
            expected = previous[1] - self.thought_ms + previous[2]
            lag = expected - time_left
            if 0 <= lag < 10_000:
                self.lag_ms = max(lag, 0.9 * self.lag_ms)
        self.last_clock = (ply, time_left, increment)
        self.thought_ms = None

    def searched(self, milliseconds: float) -> None:
        """The search just answered after ``milliseconds`` of thought."""
        self.thought_ms = milliseconds
