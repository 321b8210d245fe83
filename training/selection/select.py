"""Choosing what `train` publishes: tune on a validation window, then the quality gate.

The validation window is the last days of the data (at most a quarter of its span, so small
files still leave something to learn from). Models are tuned there, the winners are compared
with the baselines, and a winner that does not beat popularity (all-time or recent) on either
task stops the run before anything is written, unless `force` is set; the artifact records
which happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict

from models.algorithms.base import Recommender
from training.errors import QualityGateError
from training.evaluation.evaluate import EvalData
from training.evaluation.protocol import summarize
from training.evaluation.split import Split, TemporalSplit
from training.selection.candidates import ModelSpec, TrainingData
from training.selection.ranker import TwoStageMode
from training.selection.tune import SELECT, Tuning, default_specs, tune, untuned

log = logging.getLogger(__name__)

POPULARITY_BASELINES = ("popularity", "recent_popularity")


class QualityParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tune: bool = False  # library default: the fast path; `microoffers train` tunes unless --no-tune
    tune_budget_s: float = 45.0
    validation_days: int = 28
    force: bool = False  # publish even when the gate refuses (recorded in the artifact)
    # Validation scores are dense (customers x items) per model: a seeded sample of this many
    # evaluated customers keeps a million-customer shop's selection within memory.
    max_validation_customers: int = 3000
    # Every model tried is fitted on the validation window's training part: on a seeded sample
    # of this many customers at most, so a try costs the same on a million-customer shop as on
    # one of this size (the published models are fitted on everyone, after selection).
    max_fit_customers: int = 200_000
    two_stage: TwoStageMode = "auto"  # the learned ranker: tried within the budget, or always, or never


@dataclass
class Selection:
    specs: dict[str, ModelSpec]  # task -> the spec whose lists are published
    tuning: Tuning | None
    gate: dict[str, Any]
    forced: bool
    validation: str

    def result(self) -> dict[str, Any]:
        """The validation figures in the schema of `training.evaluation.protocol.run_protocol` (so the same
        report renders both); this is the artifact's metrics.json."""
        t = self.tuning
        return {
            "protocol": {
                "split": self.validation,
                "ks": [10],
                "tasks": list(self.specs),
                "selection_metric": SELECT,
                "window": "validation",
            },
            "summary": summarize(t, t.validation) if t else {},
            "metrics": t.validation if t else {},
            "kinds": {b.name: "baseline" for b in t.baselines} if t else {},
            "tuning": t.summary() if t else {},
            "gate": self.gate,
            "forced": self.forced,
            "selected": {task: spec.name for task, spec in self.specs.items()},
        }

    def manifest(self) -> dict[str, Any]:
        return {
            "models": {task: {"name": spec.name, **spec.summary()} for task, spec in self.specs.items()},
            "tuned": bool(self.tuning and self.tuning.tuned),
            "validation": self.validation,
            "gate": self.gate,
            "forced": self.forced,
            **({"ranker": self.tuning.ranker} if self.tuning and self.tuning.ranker else {}),
        }


def validation_window(purchases: pd.DataFrame, days: int) -> TemporalSplit:
    span = (purchases["timestamp"].max() - purchases["timestamp"].min()).days
    return TemporalSplit(max(1, min(days, span // 4)))


def sampled_customers(split: Split, at_most: int, seed: int = 11) -> Split:
    """`split` restricted to a seeded sample of at most `at_most` of its training customers
    (the whole split when there are no more)."""
    customers = np.sort(np.asarray(split.train["customer_id"].unique(), dtype=object))
    if len(customers) <= at_most:
        return split
    keep = set(np.random.default_rng(seed).choice(customers, at_most, replace=False).tolist())
    train = split.train[split.train["customer_id"].isin(keep)].reset_index(drop=True)
    test = split.test[split.test["customer_id"].isin(keep)].reset_index(drop=True)
    return Split(train, test, f"{split.description}, {at_most:,} of {len(customers):,} customers")


def check_gate(tuning: Tuning) -> dict[str, Any]:
    """Per task: does the winner's validation NDCG@10 beat the best popularity baseline?"""
    out: dict[str, Any] = {"metric": SELECT, "against": list(POPULARITY_BASELINES), "tasks": {}}
    for task, spec in tuning.selected.items():
        rows = tuning.validation[task]
        best = max((b for b in POPULARITY_BASELINES if b in rows), key=lambda b: rows[b][SELECT])
        ours, theirs = rows[spec.name][SELECT], rows[best][SELECT]
        out["tasks"][task] = {
            "model": spec.name,
            "value": ours,
            "baseline": best,
            "baseline_value": theirs,
            "passed": bool(ours > theirs),
        }
    out["passed"] = all(t["passed"] for t in out["tasks"].values())
    return out


def refusal(gate: dict[str, Any], window: str) -> str:
    failed = [(task, t) for task, t in gate["tasks"].items() if not t["passed"]]
    what = "; ".join(
        f"{task}: {t['model']} {gate['metric']} {t['value']:.4f} <= {t['baseline']} {t['baseline_value']:.4f}"
        for task, t in failed
    )
    return (
        f"quality gate: the model does not beat popularity on the validation window ({window}): {what}. "
        "Nothing was written; use --force to train anyway"
    )


def select_models(
    purchases: pd.DataFrame, params: QualityParams, progress: Callable[[str], None] | None = None
) -> Selection:
    """Tune (or not) on the validation window and apply the gate; raises `QualityGateError`."""
    splitter = validation_window(purchases, params.validation_days)
    try:
        split = sampled_customers(splitter(purchases), params.max_fit_customers)
        ev = EvalData.from_split(split, max_customers=params.max_validation_customers)
        usable = all(ev.customers(t) > 0 for t in ev.tasks)
    except ValueError:
        usable = False
    if not usable:
        if not params.force:
            raise QualityGateError(
                f"quality gate: no returning customer in the validation window "
                f"({splitter.describe()}) to check the model on. Nothing was written; "
                "use --force to train anyway"
            )
        gate: dict[str, Any] = {"passed": False, "reason": "nothing to validate on"}
        return Selection(default_specs(), None, gate, True, splitter.describe())
    tuning = (
        tune(ev, params.tune_budget_s, tuned_baselines=False, two_stage=params.two_stage)
        if params.tune
        else untuned(ev)
    )
    gate = check_gate(tuning)
    if progress:
        for task, t in gate["tasks"].items():
            progress(
                f"validation {task}: {t['model']} {SELECT} {t['value']:.4f} vs {t['baseline']} "
                f"{t['baseline_value']:.4f}"
            )
    if not gate["passed"] and not params.force:
        raise QualityGateError(refusal(gate, ev.split.description))
    return Selection(dict(tuning.selected), tuning, gate, not gate["passed"], ev.split.description)


def fit_selected(selection: Selection, data: TrainingData) -> tuple[Recommender, sp.csr_matrix]:
    """The published model fitted on all the data, and the matrix it ranks with.

    The *all* winner is a blend of repurchase and the discovery winner, which ranks unbought
    items exactly as the discovery winner does (see `models.algorithms.blend`), so one model produces both
    lists with scores on one scale.
    """
    spec = selection.specs.get("all", selection.specs["discovery"])
    return data.fit(spec), data.matrix(spec.weights).matrix
