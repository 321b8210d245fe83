"""The whole evaluation protocol as data: split, tune on validation, refit, score the test window.

`run_protocol` returns one JSON-ready dict; `training.evaluation.report` renders it (Markdown, HTML) and the
CLI and benchmark write it as `metrics.json`. Same protocol for `microoffers evaluate`, the
quality benchmark and the notebook.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from models.algorithms.two_stage import TwoStageRecommender
from training.evaluation.evaluate import TASKS, EvalData, evaluate_specs
from training.evaluation.split import Splitter
from training.selection.candidates import ModelSpec
from training.selection.ranker import TwoStageMode
from training.selection.tune import SELECT, Tuning, tune, untuned


def lift_over_baselines(metrics: dict[str, dict[str, float]], selected: str, baselines: list[str]) -> dict[str, Any]:
    """The selected model's NDCG@10 against the best baseline in the same table."""
    present = [b for b in baselines if b in metrics]
    best = max(present, key=lambda b: metrics[b][SELECT])
    ours, theirs = metrics[selected][SELECT], metrics[best][SELECT]
    return {
        "selected": selected,
        "best_baseline": best,
        "selected_" + SELECT: ours,
        "baseline_" + SELECT: theirs,
        "lift": ours / theirs - 1.0 if theirs > 0 else float("inf"),
    }


def summarize(tuning: Tuning, metrics: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    baselines = [b.name for b in tuning.baselines]
    return {task: lift_over_baselines(metrics[task], tuning.selected[task].name, baselines) for task in metrics}


def run_protocol(
    purchases: pd.DataFrame,
    splitter: Splitter,
    ks: list[int],
    tasks: tuple[str, ...] = TASKS,
    tune_models: bool = True,
    budget_s: float = 45.0,
    two_stage: TwoStageMode = "auto",
) -> dict[str, Any]:
    start = time.perf_counter()
    split = splitter(purchases)
    validation = EvalData.from_split(splitter(split.train), tasks)
    tuning = tune(validation, budget_s, ks, two_stage) if tune_models else untuned(validation, ks)
    test = EvalData.from_split(split, tasks)
    specs = tuning.report_specs()
    metrics, segments = evaluate_specs(specs, test, ks)
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "protocol": {
            "split": split.description,
            "validation": validation.split.description,
            "ks": ks,
            "tasks": list(tasks),
            "train_rows": len(split.train),
            "test_rows": len(split.test),
            "customers": {t: test.customers(t) for t in tasks},
            "items": int(test.data.history.shape[1]),
            "selection_metric": SELECT,
        },
        "summary": summarize(tuning, metrics),
        "metrics": metrics,
        "segments": segments,
        "kinds": {s.name: "baseline" for s in tuning.baselines},
        "tuning": tuning.summary(),
        **ranker_summary(specs, test),
        "seconds": round(time.perf_counter() - start, 1),
    }


def ranker_summary(specs: list[ModelSpec], ev: EvalData) -> dict[str, Any]:
    """The two-stage model scored here, if any: its label window and feature importances
    (`{"ranker": ...}` for the result, empty without one)."""
    for spec in specs:
        if spec.family == "two_stage":
            model = ev.data.fit(spec)  # cached by `evaluate_specs`: no second fit
            if isinstance(model, TwoStageRecommender):
                return {"ranker": model.summary()}
    return {}
