"""Rolling-origin backtests: consecutive windows that never see their own future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support.synthetic_shop import as_purchases, taste_shop
from training.evaluation.backtest import SELECTED, LeakError, check_past_only, rolling_splits, run_backtest
from training.evaluation.split import Split, TemporalSplit


def shop() -> pd.DataFrame:
    return as_purchases(taste_shop())


def test_windows_are_consecutive_and_each_trains_only_on_its_past() -> None:
    splits = rolling_splits(shop(), TemporalSplit(14), 3)
    assert len(splits) == 3
    for split in splits:
        assert split.train["timestamp"].max() < split.test["timestamp"].min()
    for earlier, later in zip(splits, splits[1:]):
        assert earlier.test["timestamp"].max() < later.test["timestamp"].min()  # no overlap
        assert len(later.train) == len(earlier.train) + len(earlier.test)  # the next origin rolls on
    starts = [s.test["timestamp"].min().normalize() for s in splits]
    assert [(b - a).days for a, b in zip(starts, starts[1:])] == [14, 14]


def test_a_window_that_overlaps_its_training_data_is_refused() -> None:
    purchases = shop()
    shuffled = purchases.sample(frac=1.0, random_state=0)
    leaky = Split(shuffled.iloc[: len(shuffled) // 2], shuffled.iloc[len(shuffled) // 2 :], "random halves")
    with pytest.raises(LeakError, match="random halves: .* customers have training purchases after"):
        check_past_only(leaky)

    class RandomSplit:
        def describe(self) -> str:
            return "random"

        def __call__(self, purchases: pd.DataFrame) -> Split:
            half = purchases.sample(frac=0.5, random_state=1)
            return Split(purchases.drop(half.index), half, "random")

    with pytest.raises(LeakError):
        rolling_splits(purchases, RandomSplit(), 2)


def test_backtest_reports_each_window_and_the_mean_with_paired_differences() -> None:
    result = run_backtest(shop(), TemporalSplit(14), 2, [10], budget_s=1.0)
    assert len(result["windows"]) == 2 and len(result["protocol"]["windows"]) == 2
    for task in ("all", "discovery"):
        part = result["backtest"][task]
        selected = part["models"][SELECTED]
        per_window = [w["intervals"][task][name]["mean"] for w, name in zip(result["windows"], part["selected"])]
        assert [v["mean"] for v in selected["per_window"]] == per_window
        assert selected["mean"] == pytest.approx(np.mean(per_window))
        assert selected["low"] <= selected["mean"] <= selected["high"]
        best = part["best_baseline"]
        assert result["windows"][-1]["kinds"][best] == "baseline"
        diffs = [w["diff"] for w in part["paired"]["per_window"]]
        expected = [selected["per_window"][i]["mean"] - part["models"][best]["per_window"][i]["mean"] for i in range(2)]
        np.testing.assert_allclose(diffs, expected, atol=1e-12)
        assert part["paired"]["diff"]["mean"] == pytest.approx(np.mean(diffs))
    assert {"tifu_knn", "rp3beta", "ease_weighted", "gp_topfreq"} <= set(result["backtest"]["all"]["models"])
