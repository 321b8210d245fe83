"""Two saved artifacts on the same rolling-origin windows: which training configuration is better?

An artifact's lists were computed from its own data up to its own day, so two artifacts cannot
be compared on their lists alone. What each records is how it chose to train: the models per
task, with their parameters and matrix weighting (the manifest's `selection.models`). Here both
are fitted again, as recorded (no tuning), on each window's training part and scored on the
same test windows and the same customers (`training.evaluation.backtest.rolling_splits`), so
their difference is paired over customers in each window (bootstrap) and over windows (t).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from models.contract.artifact import MANIFEST, resolve_version_dir
from training.evaluation.backtest import rolling_splits, window_row
from training.evaluation.evaluate import PER_CUSTOMER, TASKS, EvalData, evaluate_models
from training.evaluation.intervals import LEVEL, bootstrap_mean, paired_difference, t_interval
from training.evaluation.split import Splitter
from training.selection.candidates import ModelSpec, spec_from_description

Recorded = dict[str, ModelSpec]  # task -> the spec an artifact publishes for it


def recorded_specs(path: Path) -> tuple[Recorded, dict[str, Any]]:
    """An artifact's models per task and what identifies it (path, version, model names). Only
    the manifest is read: the arrays are not needed to fit its models again."""
    version = resolve_version_dir(path)
    manifest = json.loads((version / MANIFEST).read_text())
    described = manifest.get("selection", {}).get("models", {})
    if not described:
        raise ValueError(f"artifact {version}: its manifest records no selected models to compare")
    specs = {task: spec_from_description(d) for task, d in described.items() if task in TASKS}
    names = {task: spec.name for task, spec in specs.items()}
    return specs, {"path": str(version), "version": str(manifest.get("version", version.name)), "models": names}


def compare_artifacts(
    purchases: pd.DataFrame, splitter: Splitter, windows: int, paths: tuple[Path, Path], ks: list[int]
) -> dict[str, Any]:
    """B against A (`paths`), in the schema of a backtest's result (so the report renders it)."""
    start = time.perf_counter()
    (a, about_a), (b, about_b) = recorded_specs(paths[0]), recorded_specs(paths[1])
    tasks = tuple(t for t in TASKS if t in a and t in b)
    if not tasks:
        raise ValueError("the two artifacts have no task in common to compare on")
    labels = {"A": a, "B": b}
    per_window: list[dict[str, dict[str, Any]]] = []
    descriptions = []
    for split in rolling_splits(purchases, splitter, windows):
        ev = EvalData.from_split(split, tasks)
        specs = [s.model_copy(update={"name": f"{label}:{t}"}) for label, rec in labels.items() for t, s in rec.items()]
        values = evaluate_models([s for s in specs if s.name.split(":")[1] in tasks], ev, ks).per_customer
        per_window.append({t: {label: values[t][f"{label}:{t}"] for label in labels} for t in tasks})
        descriptions.append(split.description)
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "protocol": {
            "backtest": f"B against A, each refitted as recorded, on {windows} consecutive windows of "
            f"{splitter.describe()}",
            "windows": descriptions,
            "ks": ks,
            "tasks": list(tasks),
            "metric": PER_CUSTOMER,
            "intervals": (
                f"per window: {LEVEL:.0%} percentile bootstrap over customers; mean over windows: Student's t "
                f"over the {windows} window values; the difference B - A paired over customers"
            ),
        },
        "artifacts": {"A": about_a, "B": about_b},
        "backtest": {t: _task(per_window, t) for t in tasks},
        "seconds": round(time.perf_counter() - start, 1),
    }


def _task(per_window: list[dict[str, dict[str, Any]]], task: str) -> dict[str, Any]:
    rows = {label: window_row([bootstrap_mean(w[task][label]) for w in per_window], label) for label in ("A", "B")}
    paired = [paired_difference(w[task]["B"], w[task]["A"]) for w in per_window]
    return {
        "models": rows,
        "paired": {
            "of": "B",
            "against": "A",
            "per_window": paired,
            "diff": t_interval([p["diff"] for p in paired]),
            "lift": t_interval([p["lift"] for p in paired]),
        },
    }
