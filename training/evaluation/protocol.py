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
from training.evaluation.evaluate import TASKS, EvalData, Evaluation, evaluate_models
from training.evaluation.intervals import LEVEL, RESAMPLES, bootstrap_mean, paired_difference
from training.evaluation.split import Split, Splitter
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
    return run_split(splitter(purchases), splitter, ks, tasks, tune_models, budget_s)[0]


def run_split(
    split: Split,
    splitter: Splitter,
    ks: list[int],
    tasks: tuple[str, ...] = TASKS,
    tune_models: bool = True,
    budget_s: float = 45.0,
    two_stage: TwoStageMode = "auto",
) -> tuple[dict[str, Any], Evaluation]:
    """One test window: tune on the window `splitter` carves from `split.train`, refit on all of
    `split.train`, score `split.test`. Returns the JSON-ready result and the per-customer figures."""
    start = time.perf_counter()
    validation = EvalData.from_split(splitter(split.train), tasks)
    tuning = tune(validation, budget_s, ks, two_stage=two_stage) if tune_models else untuned(validation, ks)
    test = EvalData.from_split(split, tasks)
    specs = tuning.report_specs()
    evaluation = evaluate_models(specs, test, ks)
    summary = summarize(tuning, evaluation.metrics)
    result = {
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
            "intervals": f"{LEVEL:.0%} percentile bootstrap over customers ({RESAMPLES} resamples), paired "
            "for differences",
        },
        "summary": summary,
        "metrics": evaluation.metrics,
        "intervals": {
            task: {name: bootstrap_mean(values) for name, values in rows.items()}
            for task, rows in evaluation.per_customer.items()
        },
        "paired": {task: paired_to_baseline(evaluation, task, s) for task, s in summary.items()},
        "paired_to_each_baseline": {
            task: paired_to_each(evaluation, task, s["selected"], [b.name for b in tuning.baselines])
            for task, s in summary.items()
        },
        "segments": evaluation.segments,
        "kinds": {s.name: "baseline" for s in tuning.baselines},
        "tuning": tuning.summary(),
        **ranker_summary(specs, test),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return result, evaluation


def paired_to_each(evaluation: Evaluation, task: str, selected: str, baselines: list[str]) -> dict[str, Any]:
    """The selected model minus each baseline of the task, customer by customer."""
    rows = evaluation.per_customer[task]
    return {b: paired_difference(rows[selected], rows[b]) for b in baselines if b in rows}


def paired_to_baseline(evaluation: Evaluation, task: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The selected model minus the best baseline, customer by customer (`PER_CUSTOMER`)."""
    rows = evaluation.per_customer[task]
    selected, baseline = summary["selected"], summary["best_baseline"]
    return {"selected": selected, "baseline": baseline, **paired_difference(rows[selected], rows[baseline])}


def ranker_summary(specs: list[ModelSpec], ev: EvalData) -> dict[str, Any]:
    """The two-stage model scored here, if any: its label window and feature importances
    (`{"ranker": ...}` for the result, empty without one)."""
    for spec in specs:
        if spec.family == "two_stage":
            model = ev.data.fit(spec)  # cached by `evaluate_specs`: no second fit
            if isinstance(model, TwoStageRecommender):
                return {"ranker": model.summary()}
    return {}
