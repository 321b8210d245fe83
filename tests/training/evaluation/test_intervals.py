"""Confidence intervals against cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.intervals import bootstrap_mean, paired_difference, t_interval


def test_t_interval_over_four_windows_as_computed_by_hand() -> None:
    """[1, 2, 3, 4]: mean 2.5, s = 1.2910, s/√4 = 0.6455, t(0.975, 3) = 3.1824: ± 2.0543."""
    i = t_interval([1.0, 2.0, 3.0, 4.0])
    assert i["mean"] == pytest.approx(2.5)
    assert i["low"] == pytest.approx(2.5 - 2.0543, abs=1e-4) and i["high"] == pytest.approx(2.5 + 2.0543, abs=1e-4)
    assert i["n"] == 4 and i["method"] == "t over windows"


def test_one_window_has_no_interval() -> None:
    assert t_interval([0.3]) == {"mean": 0.3, "low": 0.3, "high": 0.3, "n": 1, "method": "t over windows"}


def test_bootstrap_of_a_proportion_matches_the_normal_approximation() -> None:
    """600 hits in 2,000 customers: p = 0.3, 1.96 · √(p(1-p)/n) = 0.0201 either side."""
    values = np.zeros(2000)
    values[:600] = 1.0
    i = bootstrap_mean(values)
    assert i["mean"] == pytest.approx(0.3)
    assert i["high"] - i["low"] == pytest.approx(2 * 0.0201, rel=0.15)
    assert i["low"] < 0.3 < i["high"]


def test_bootstrap_of_identical_values_is_a_point_and_reruns_agree() -> None:
    assert bootstrap_mean(np.full(50, 0.25))[("low")] == pytest.approx(0.25)
    values = np.random.default_rng(1).random(300)
    assert bootstrap_mean(values) == bootstrap_mean(values)


def test_pairing_removes_what_two_models_share() -> None:
    """Customers differ wildly, but ours is always theirs + 0.1: the paired difference is exactly
    0.1 with no width, though each model's own interval is wide."""
    theirs = np.random.default_rng(2).random(500)
    ours = theirs + 0.1
    d = paired_difference(ours, theirs)
    assert d["diff"] == pytest.approx(0.1) and d["low"] == pytest.approx(0.1) and d["high"] == pytest.approx(0.1)
    assert d["lift"] == pytest.approx(0.1 / theirs.mean())
    assert d["lift_low"] < d["lift"] < d["lift_high"]
    own = bootstrap_mean(theirs)
    assert own["high"] - own["low"] > 0.04


def test_a_difference_needs_the_same_customers() -> None:
    with pytest.raises(ValueError, match="same customers"):
        paired_difference(np.zeros(3), np.zeros(4))
