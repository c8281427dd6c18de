"""Elo differences from game results: the estimate, its 95% interval, and the SPRT.

The score s of player 1 (wins + draws / 2, over games) becomes an Elo difference by the logistic
model, ``elo = -400 log10(1/s - 1)``, with a 95% interval from the per-game variance
(trinomial: win, draw, loss). The sequential probability ratio test (Wald 1945, in the normal
approximation fishtest uses) says when a running match has shown enough: H1 (player 1 is at
least elo1 stronger) or H0 (at most elo0). Generic: chess matches between UCI engines and
game arenas between agents use the same functions. A share of positions (a top-1 agreement)
gets its 95% interval from Wilson's score interval, which stays inside [0, 1].

Try it: ``python -c "from minizero.elo import elo_interval; print(elo_interval(60, 20, 20))"``.
"""

from __future__ import annotations

import math


def elo_from_score(score: float) -> float:
    """Logistic Elo difference for an expected score in [0, 1] (inf at the ends)."""
    if score <= 0:
        return -math.inf
    if score >= 1:
        return math.inf
    return -400 * math.log10(1 / score - 1)


def elo_interval(wins: int, draws: int, losses: int) -> tuple[float, float, float]:
    """(Elo, low, high): the estimate and its 95% interval from the per-game variance."""
    games = wins + draws + losses
    if games == 0:
        return 0.0, -math.inf, math.inf
    score = (wins + 0.5 * draws) / games
    variance = (wins * (1 - score) ** 2 + draws * (0.5 - score) ** 2
                + losses * score**2) / games
    spread = 1.96 * math.sqrt(variance / games)
    return (elo_from_score(score), elo_from_score(score - spread),
            elo_from_score(score + spread))


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """95% interval of a proportion, successes out of trials (Wilson 1927)."""
    if trials == 0:
        return 0.0, 1.0
    z2 = 1.96**2
    share = successes / trials
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = 1.96 * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials**2)) / (
        1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def sprt_llr(wins: int, draws: int, losses: int, elo0: float, elo1: float) -> float:
    """Log-likelihood ratio of H1 (elo1) against H0 (elo0), normal approximation."""
    games = wins + draws + losses
    if games == 0:
        return 0.0
    score = (wins + 0.5 * draws) / games
    variance = (wins * (1 - score) ** 2 + draws * (0.5 - score) ** 2
                + losses * score**2) / games
    if variance <= 0:
        return 0.0
    score0 = 1 / (1 + 10 ** (-elo0 / 400))
    score1 = 1 / (1 + 10 ** (-elo1 / 400))
    return games * (score1 - score0) * (2 * score - score0 - score1) / (2 * variance)


def sprt_verdict(wins: int, draws: int, losses: int,
                 sprt: tuple[float, float, float, float]) -> str | None:
    """'H1' (player 1 is at least elo1 better), 'H0' (at most elo0), or None while undecided.

    ``sprt`` is (elo0, elo1, alpha, beta): the two hypotheses and the error rates.
    """
    elo0, elo1, alpha, beta = sprt
    llr = sprt_llr(wins, draws, losses, elo0, elo1)
    if llr >= math.log((1 - beta) / alpha):
        return "H1"
    if llr <= math.log(beta / (1 - alpha)):
        return "H0"
    return None
