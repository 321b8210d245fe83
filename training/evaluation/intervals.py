"""95% confidence intervals for evaluation figures, and paired differences between two models.

Two sources of uncertainty, each with its own interval:

- **within one test window**, over customers: the percentile bootstrap (customers resampled with
  replacement, `RESAMPLES` times, seeded so reruns agree) of the mean NDCG@10; for two models the
  *same* resampled customers are used for both (a paired bootstrap), so what they share (hard
  customers, an easy window) cancels out of their difference.
- **across rolling-origin windows**: Student's t over the per-window values (n - 1 degrees of
  freedom): each window is one draw of "the next four weeks", and with four windows the
  interval is wide, which is the honest answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

LEVEL = 0.95
RESAMPLES = 1000
SEED = 16


def _resampled_means(values: list[np.ndarray], resamples: int, seed: int) -> list[np.ndarray]:
    """Means of each array over the same bootstrap resamples of its positions (one index matrix,
    `resamples` x customers, shared by every array: the pairing)."""
    n = len(values[0])
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    return [np.asarray(v, dtype=np.float64)[picks].mean(axis=1) for v in values]


def _percentiles(draws: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean(
    values: np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, Any]:
    """Mean over customers with its percentile-bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return {"mean": 0.0, "low": 0.0, "high": 0.0, "n": 0, "method": "bootstrap over customers"}
    (draws,) = _resampled_means([values], resamples, seed)
    low, high = _percentiles(draws, level)
    return {
        "mean": float(values.mean()),
        "low": low,
        "high": high,
        "n": len(values),
        "method": "bootstrap over customers",
    }


def paired_difference(
    ours: np.ndarray, theirs: np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, Any]:
    """`ours - theirs` (per customer, the same customers in the same order): the mean difference
    and the relative lift mean(ours) / mean(theirs) - 1, each with a paired-bootstrap interval."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"paired values must be for the same customers: {ours.shape} vs {theirs.shape}")
    if len(ours) == 0:
        return {"diff": 0.0, "low": 0.0, "high": 0.0, "lift": 0.0, "lift_low": 0.0, "lift_high": 0.0, "n": 0}
    a, b = _resampled_means([ours, theirs], resamples, seed)
    low, high = _percentiles(a - b, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift_low, lift_high = _percentiles(np.where(b > 0, a / b - 1.0, np.inf), level)
    base = float(theirs.mean())
    return {
        "diff": float(ours.mean() - base),
        "low": low,
        "high": high,
        "lift": float(ours.mean()) / base - 1.0 if base > 0 else float("inf"),
        "lift_low": lift_low,
        "lift_high": lift_high,
        "n": len(ours),
        "method": "paired bootstrap over customers",
    }


def t_interval(values: list[float] | np.ndarray, level: float = LEVEL) -> dict[str, Any]:
    """Mean of per-window values with Student's t interval (a single window: no interval)."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean()) if len(values) else 0.0
    if len(values) < 2:
        return {"mean": mean, "low": mean, "high": mean, "n": len(values), "method": "t over windows"}
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(values), "method": "t over windows"}
