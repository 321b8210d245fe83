"""The Spark engine's validation: Spark's ALS fitted on the validation window's past and scored
by the project's own evaluation (`training.evaluation.evaluate`), beside popularity, so the
quality gate of the single-machine engine applies (NDCG@10 must beat popularity)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import SparkSession

from models.algorithms.als import ALSParams
from training.data.features import WeightParams
from training.engines.spark.als import fit_als
from training.engines.spark.features import CONFIDENCE, CUSTOMER, ITEM
from training.errors import QualityGateError
from training.evaluation.evaluate import EvalData, model_scores, task_metrics
from training.selection.candidates import COUNTS, ModelSpec
from training.selection.select import QualityParams, validation_window
from training.selection.tune import SELECT


def validate(
    spark: SparkSession, purchases: pd.DataFrame, als: ALSParams, weights: WeightParams, quality: QualityParams
) -> dict[str, Any]:
    """Per task, NDCG@10 of Spark's ALS and of popularity on the validation window; the gate."""
    splitter = validation_window(purchases, quality.validation_days)
    ev = EvalData.from_split(splitter(purchases), max_customers=quality.max_validation_customers)
    spec = ModelSpec(name="als", family="als", params=als, weights=weights)
    matrix = ev.data.matrix(weights).matrix.tocoo()
    frame = pd.DataFrame({CUSTOMER: matrix.row, ITEM: matrix.col, CONFIDENCE: matrix.data})
    ratings = spark.createDataFrame(frame, f"{CUSTOMER} int, {ITEM} int, {CONFIDENCE} float")
    model = fit_als(ratings, als, matrix.shape)
    popular = ModelSpec(name="popularity", family="popularity", weights=COUNTS)
    scored = {"als": model_scores(model, ev, spec), "popularity": model_scores(ev.data.fit(popular), ev, popular)}
    tasks: dict[str, Any] = {}
    for task in ev.tasks:
        figures = {name: task_metrics(scores, ev, task, [10])[SELECT] for name, scores in scored.items()}
        tasks[task] = {
            "model": "als",
            "value": figures["als"],
            "baseline": "popularity",
            "baseline_value": figures["popularity"],
            "passed": figures["als"] > figures["popularity"],
        }
    passed = all(t["passed"] for t in tasks.values())
    gate = {"metric": SELECT, "against": ["popularity"], "tasks": tasks, "passed": passed}
    if not passed and not quality.force:
        failed = "; ".join(
            f"{k}: als {t['value']:.4f} <= popularity {t['baseline_value']:.4f}" for k, t in tasks.items()
        )
        raise QualityGateError(
            f"quality gate: the model does not beat popularity on the validation window ({ev.split.description}): "
            f"{failed}. Nothing was written; use --force to train anyway"
        )
    return {"split": ev.split.description, "gate": gate}
