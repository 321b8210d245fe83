"""The statistics of online experiments against known values and simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import online

ALPHA = 0.05
TAU = 0.01


def test_the_mixture_ratio_matches_the_papers_balanced_form() -> None:
    """Johari et al.: sqrt(V/(V+n tau2)) exp(n^2 tau2 d^2 / (2V(V+n tau2))) with V = 2 p(1-p)."""
    n, d, p = 1000, 0.02, 0.1
    v = 2 * p * (1 - p)
    paper = math.sqrt(v / (v + n * TAU**2)) * math.exp(n**2 * TAU**2 * d**2 / (2 * v * (v + n * TAU**2)))
    assert online.msprt_ratio(d, v / n, TAU) == pytest.approx(paper, rel=1e-12)


def test_the_confidence_sequence_is_where_the_ratio_stays_below_one_over_alpha() -> None:
    d, var = 0.013, 2.5e-5
    half = online.msprt_half_width(var, TAU, ALPHA)
    assert online.msprt_ratio(d, var, TAU, d + half) == pytest.approx(1 / ALPHA, rel=1e-9)
    assert online.msprt_ratio(d, var, TAU, d + 0.9 * half) < 1 / ALPHA
    assert half > online.fixed_interval(d, var).high - d  # wider than the one-look interval


def test_known_proportion_and_mean_differences() -> None:
    d, var = online.proportion_difference(50, 1000, 80, 1000)
    assert d == pytest.approx(0.03)
    assert var == pytest.approx(0.05 * 0.95 / 1000 + 0.08 * 0.92 / 1000)
    d, var = online.mean_difference(10.0, 30.0, 5, 20.0, 100.0, 5)  # means 2 and 4; variances 2.5 and 5
    assert d == pytest.approx(2.0)
    assert var == pytest.approx(2.5 / 5 + 5.0 / 5)


def _simulate(p_a: float, p_b: float, runs: int, days: int, per_day: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative conversions per arm after each day, `runs` experiments at once."""
    rng = np.random.default_rng(seed)
    a = rng.binomial(per_day, p_a, size=(runs, days)).cumsum(axis=1)
    b = rng.binomial(per_day, p_b, size=(runs, days)).cumsum(axis=1)
    return a, b


def _first_rejections(a: np.ndarray, b: np.ndarray, per_day: int, sequential: bool) -> np.ndarray:
    runs, days = a.shape
    rejected = np.zeros(runs, dtype=bool)
    for r in range(runs):
        looks = []
        for day in range(days):
            n = per_day * (day + 1)
            looks.append(online.proportion_difference(int(a[r, day]), n, int(b[r, day]), n))
        if sequential:
            rejected[r] = online.sequential_looks(looks, TAU, ALPHA)[-1].reject
        else:  # the usual z-test, looked at every day
            rejected[r] = any(abs(d) / math.sqrt(v) > online.Z95 for d, v in looks if v > 0)
    return rejected


def test_looking_every_day_keeps_the_false_positive_rate_at_alpha() -> None:
    """No lift, 30 daily looks, 1000 simulated experiments: the mSPRT rejects at most
    alpha + 2 points of them; the usual test peeked at daily rejects far more (the problem)."""
    a, b = _simulate(0.05, 0.05, runs=1000, days=30, per_day=400, seed=7)
    sequential = _first_rejections(a, b, 400, sequential=True).mean()
    naive = _first_rejections(a, b, 400, sequential=False).mean()
    assert sequential <= ALPHA + 0.02
    assert naive > 2 * ALPHA


def test_a_real_lift_is_found() -> None:
    """Conversion 5% -> 6.5% (a 30% lift), 400 customers per arm a day for 30 days."""
    a, b = _simulate(0.05, 0.065, runs=300, days=30, per_day=400, seed=11)
    rejected = _first_rejections(a, b, 400, sequential=True)
    assert rejected.mean() >= 0.9
    looks = [online.proportion_difference(int(a[0, d]), 400 * (d + 1), int(b[0, d]), 400 * (d + 1)) for d in range(30)]
    last = online.sequential_looks(looks, TAU, ALPHA)[-1]
    assert last.low <= 0.015 <= last.high  # the interval holds the true lift


def test_the_always_valid_p_value_never_rises_and_the_interval_only_narrows() -> None:
    a, b = _simulate(0.05, 0.05, runs=1, days=40, per_day=300, seed=3)
    looks = [online.proportion_difference(int(a[0, d]), 300 * (d + 1), int(b[0, d]), 300 * (d + 1)) for d in range(40)]
    out = online.sequential_looks(looks, TAU, ALPHA)
    assert all(x.p_value >= y.p_value for x, y in zip(out, out[1:]))
    assert all(x.low <= y.low and x.high >= y.high for x, y in zip(out, out[1:]))


def test_sample_ratio_mismatch() -> None:
    fine = online.sample_ratio_check({"A": 5030, "B": 4970}, {"A": 0.5, "B": 0.5})
    assert not fine.mismatch and fine.p_value > 0.5
    broken = online.sample_ratio_check({"A": 5300, "B": 4700}, {"A": 0.5, "B": 0.5})
    assert broken.mismatch and broken.p_value < 1e-6
    weighted = online.sample_ratio_check({"A": 9000, "B": 1000}, {"A": 0.9, "B": 0.1})
    assert not weighted.mismatch
    assert not online.sample_ratio_check({}, {"A": 0.5, "B": 0.5}).mismatch
