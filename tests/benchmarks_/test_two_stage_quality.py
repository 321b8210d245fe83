"""The two-stage quality benchmark's arithmetic: intervals over customers and its table."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.two_stage_quality import interval, markdown


def test_interval_is_the_mean_and_196_standard_errors() -> None:
    values = np.array([0.0, 1.0, 0.0, 1.0])
    mean, low, high = interval(values)
    half = 1.96 * np.std(values, ddof=1) / 2.0
    assert (mean, low, high) == pytest.approx((0.5, 0.5 - half, 0.5 + half))
    assert interval(np.array([0.3])) == (0.3, 0.3, 0.3)


def test_markdown_names_the_target_and_whether_it_was_met() -> None:
    result = {
        "dataset": "retail",
        "split": "temporal",
        "tune_seconds": 1.0,
        "budget_s": 2.0,
        "two_stage_fit_seconds": 3.0,
        "selected": {"all": "two_stage"},
        "tasks": {
            "all": {
                "customers": 10,
                "best_baseline": "popularity",
                "kinds": {"two_stage": "model", "popularity": "baseline"},
                "models": {
                    "two_stage": {"ndcg@10": 0.5, "low": 0.4, "high": 0.6},
                    "popularity": {"ndcg@10": 0.4, "low": 0.3, "high": 0.5},
                },
                "two_stage_vs_best_baseline": {
                    "difference": 0.1,
                    "low": 0.05,
                    "high": 0.15,
                    "lift": 0.25,
                    "target": 0.15,
                },
            }
        },
    }
    text = markdown(result)
    assert "| two_stage | selected | 0.5000 | 0.4000 – 0.6000 |" in text
    assert "lift +25.0%, target +15%: met" in text
