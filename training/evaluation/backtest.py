"""Rolling-origin backtests: the protocol on several consecutive test windows, then their mean.

One test window is one draw of "the next four weeks": a model can lead there by luck (a
season, one big customer). A backtest applies the splitter again and again, each time to the
training part of the previous split, so with `TemporalSplit(28)` and four windows the test
windows are the last four 4-week periods, each scored once, each with its own tuning on the
window before it and its own refit on everything before it (`run_split`); nothing of a test
window or after it is ever seen while choosing or fitting (`check_past_only`, asserted on every
window). With `UserTailSplit` the windows are each customer's consecutive latest slices.

Reported per task: every model's NDCG@10 per window (with its bootstrap interval over customers)
and the mean over windows with Student's t interval over the windows; and the selected model
minus the best baseline (the one with the best mean over windows), paired over customers in
each window (bootstrap), then over windows (t), as a difference and as a relative lift.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from training.evaluation.evaluate import PER_CUSTOMER, TASKS
from training.evaluation.intervals import LEVEL, paired_difference, t_interval
from training.evaluation.protocol import run_split
from training.evaluation.split import Split, Splitter
from training.selection.ranker import TwoStageMode

SELECTED = "selected"  # the row of each window's selected model, whatever its name in that window


class LeakError(AssertionError):
    """A test window shares time with the data its models were tuned or trained on."""


def check_past_only(split: Split) -> None:
    """Every customer's training purchases are no later than their first in the test window
    (for a temporal split, the whole training part ends before the window starts)."""
    if split.train.empty or split.test.empty:
        return
    last_train = split.train.groupby("customer_id")["timestamp"].max()
    first_test = split.test.groupby("customer_id")["timestamp"].min()
    both = last_train.index.intersection(first_test.index)
    late = both[(last_train[both] > first_test[both]).to_numpy()]
    if len(late):
        raise LeakError(
            f"{split.description}: {len(late)} customers have training purchases after their first test "
            f"purchase, e.g. {late[0]!r} ({last_train[late[0]]} > {first_test[late[0]]})"
        )


def rolling_splits(purchases: pd.DataFrame, splitter: Splitter, windows: int) -> list[Split]:
    """`windows` consecutive splits, oldest first; split i+1's training part is split i's whole data."""
    if windows < 1:
        raise ValueError(f"a backtest needs at least 1 window, not {windows}")
    splits, data = [], purchases
    for later in range(windows):
        split = splitter(data)
        check_past_only(split)
        if later:  # a per-customer split's description alone would read the same in every window
            split = Split(split.train, split.test, f"{split.description} (of the data before the next window)")
        splits.append(split)
        data = split.train
    return splits[::-1]


def run_backtest(
    purchases: pd.DataFrame,
    splitter: Splitter,
    windows: int,
    ks: list[int],
    tasks: tuple[str, ...] = TASKS,
    tune_models: bool = True,
    budget_s: float = 45.0,
    two_stage: TwoStageMode = "auto",
) -> dict[str, Any]:
    """The protocol on each window (tuned within `budget_s` each), then the backtest summary."""
    start = time.perf_counter()
    results, per_customer = [], []
    for split in rolling_splits(purchases, splitter, windows):
        result, evaluation = run_split(split, splitter, ks, tasks, tune_models, budget_s, two_stage)
        results.append(result)
        per_customer.append(evaluation.per_customer)
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "protocol": {
            "backtest": f"rolling origin, {windows} consecutive windows of {splitter.describe()}",
            "windows": [r["protocol"]["split"] for r in results],
            "ks": ks,
            "tasks": list(tasks),
            "metric": PER_CUSTOMER,
            "intervals": (
                f"per window: {LEVEL:.0%} percentile bootstrap over customers; mean over windows: "
                f"Student's t over the {windows} window values; differences paired over customers"
            ),
        },
        "backtest": {task: summarize_task(results, per_customer, task) for task in tasks},
        "windows": results,
        "seconds": round(time.perf_counter() - start, 1),
    }


def summarize_task(results: list[dict[str, Any]], per_customer: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """Rows of every model present in every window, the selected row, and the paired lead."""
    names = set.intersection(*(set(r["metrics"][task]) for r in results))
    kinds = results[-1]["kinds"]
    rows: dict[str, dict[str, Any]] = {}
    for name in sorted(names, key=lambda n: (kinds.get(n) == "baseline", n)):
        rows[name] = window_row([r["intervals"][task][name] for r in results], kinds.get(name, "model"))
    selected = [r["summary"][task]["selected"] for r in results]
    rows = {SELECTED: window_row([r["intervals"][task][s] for r, s in zip(results, selected)], "selected"), **rows}
    baselines = [n for n in names if kinds.get(n) == "baseline"]
    best = max(baselines, key=lambda n: rows[n]["mean"])
    paired = [paired_difference(pc[task][s], pc[task][best]) for pc, s in zip(per_customer, selected)]
    for name in baselines:  # the selected model's lead over each baseline, paired in each window
        lifts = [paired_difference(pc[task][s], pc[task][name])["lift"] for pc, s in zip(per_customer, selected)]
        rows[name]["selected_lift"] = t_interval(lifts)
    return {
        "models": rows,
        "selected": selected,
        "best_baseline": best,
        "paired": {
            "of": SELECTED,
            "against": best,
            "per_window": paired,
            "diff": t_interval([p["diff"] for p in paired]),
            "lift": t_interval([p["lift"] for p in paired]),
            "pooled_lift": rows[SELECTED]["mean"] / rows[best]["mean"] - 1.0
            if rows[best]["mean"] > 0
            else float("inf"),
        },
    }


def window_row(intervals: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """One model's row: its interval in each window and the t interval of the window means."""
    means = [i["mean"] for i in intervals]
    return {"kind": kind, "per_window": intervals, **t_interval(np.asarray(means))}
