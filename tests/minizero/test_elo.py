"""Elo, its intervals and the SPRT (``minizero/elo.py``) against values computed by hand and the
published bounds of Wald's test.

Hand computations used below. 60 wins, 20 draws, 20 losses: score s = 0.7; per-game variance
(60 x 0.3^2 + 20 x 0.2^2 + 20 x 0.7^2) / 100 = 0.16; the mean's 95% spread 1.96 x sqrt(0.16 /
100) = 0.0784; Elo = -400 log10(1 / s - 1). Wald's bounds for error rates alpha (accepting H1
wrongly) and beta (accepting H0 wrongly): accept H1 when LLR >= ln((1 - beta) / alpha), H0 when
LLR <= ln(beta / (1 - alpha)); for alpha = 0.05, beta = 0.10 that is 2.890 and -2.251
(fishtest's default alpha = beta = 0.05 gives +-2.944).
"""

from __future__ import annotations

import math

import pytest

from minizero.elo import elo_from_score, elo_interval, sprt_llr, sprt_verdict, wilson_interval


def test_elo_of_known_scores() -> None:
    assert elo_from_score(0.5) == 0
    assert elo_from_score(0.75) == pytest.approx(190.85, abs=0.01)  # 400 log10(3)
    assert elo_from_score(0.64) == pytest.approx(99.95, abs=0.01)  # the "100 Elo is 64%" rule
    assert elo_from_score(0.25) == pytest.approx(-190.85, abs=0.01)
    assert elo_from_score(0.0) == -math.inf and elo_from_score(1.0) == math.inf


def test_elo_interval_of_a_known_result() -> None:
    elo, low, high = elo_interval(60, 20, 20)
    assert elo == pytest.approx(-400 * math.log10(1 / 0.7 - 1))  # 147.19
    assert low == pytest.approx(-400 * math.log10(1 / (0.7 - 0.0784) - 1))  # 86.22
    assert high == pytest.approx(-400 * math.log10(1 / (0.7 + 0.0784) - 1))  # 218.25
    elo, low, high = elo_interval(30, 40, 30)  # variance 0.15, spread 1.96 x sqrt(0.0015)
    assert elo == 0 and high == pytest.approx(-low) == pytest.approx(
        -400 * math.log10(1 / (0.5 + 1.96 * math.sqrt(0.0015)) - 1))
    assert elo_interval(0, 0, 0) == (0.0, -math.inf, math.inf)


def test_wilson_interval_of_known_results() -> None:
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # not [0, 0]
    low, high = wilson_interval(2418, 6247)  # a top-1 agreement of 38.7% on the bench's set
    assert high - low == pytest.approx(2 * 1.96 * math.sqrt(0.387 * 0.613 / 6247), rel=0.01)


def test_llr_by_hand() -> None:
    # H0: 0 Elo (expected score 0.5), H1: 10 Elo (1 / (1 + 10^(-10/400)) = 0.514387).
    # LLR = N (s1 - s0) (2 s - s0 - s1) / (2 variance) = 100 x 0.014387 x 0.385613 / 0.32
    assert sprt_llr(60, 20, 20, 0, 10) == pytest.approx(1.73371, abs=1e-4)
    # H0 -5 Elo (0.492805), H1 +5 Elo (0.507195): 100 x 0.014390 x 0.4 / 0.32
    assert sprt_llr(60, 20, 20, -5, 5) == pytest.approx(1.79877, abs=1e-4)
    assert sprt_llr(20, 20, 60, -5, 5) == pytest.approx(-1.79877, abs=1e-4)
    assert sprt_llr(0, 0, 0, 0, 10) == 0


def test_sprt_uses_walds_bounds_with_unequal_error_rates() -> None:
    sprt = (-5.0, 5.0, 0.05, 0.10)  # alpha 0.05, beta 0.10: accept H1 at 2.890, H0 at -2.251
    between = sprt_llr(576, 100, 500, -5, 5)
    assert 2.251 < between < 2.890
    assert sprt_verdict(576, 100, 500, sprt) is None  # not yet enough for H1
    assert sprt_verdict(500, 100, 576, sprt) == "H0"  # -2.40 is past H0's bound already
    assert sprt_verdict(600, 100, 500, sprt) == "H1"  # LLR 3.16
    assert sprt_verdict(500, 100, 600, sprt) == "H0"
    # The published bounds themselves, just inside and just outside.
    assert sprt_verdict(60, 20, 20, (-5.0, 5.0, 0.05, 0.10)) is None  # 1.80 < 2.890
    assert sprt_verdict(60, 20, 20, (-5.0, 5.0, 0.15, 0.15)) == "H1"  # ln(0.85 / 0.15) = 1.73
