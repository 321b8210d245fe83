"""`microoffers train --engine spark`: the steps of `training.pipeline` with Spark doing the
distributed ones (see the package docstring for which)."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from models.algorithms.popular import PopularityRecommender
from models.contract.artifact import Artifact, save_artifact
from training.data.clean import CleanResult
from training.data.features import build_interactions, build_replenishment, customer_countries
from training.data.forget import forgotten_customers
from training.data.load import load_catalog
from training.engines.spark import clean as spark_clean
from training.engines.spark.als import fit_als
from training.engines.spark.features import as_rows, confidence
from training.engines.spark.lists import collect_lists, spark_lists
from training.engines.spark.load import read_purchases
from training.engines.spark.segments import spark_segments
from training.engines.spark.session import DEFAULT_MASTER, spark_session
from training.engines.spark.validate import validate
from training.errors import InputError
from training.pipeline import StepTimer, TrainInputs, TrainParams, fingerprint, new_version
from training.selection.candidates import COUNTS, ModelSpec, TrainingData
from training.storefront.build import build_storefront, deliverable_mask

log = logging.getLogger(__name__)
LIST_PARTITION_ROWS = 250_000  # customers per lists-NNNNN.npz (what `publish` hands one worker)


def train_on_spark(
    inputs: TrainInputs,
    out_dir: Path,
    params: TrainParams | None = None,
    master: str = DEFAULT_MASTER,
    progress: Callable[[str], None] | None = None,
    on_clean: Callable[[CleanResult], None] | None = None,
    checkpoint_dir: Path | None = None,
    partition_rows: int = LIST_PARTITION_ROWS,
) -> Artifact:
    """The whole job on Spark; returns the artifact written under `out_dir` (same format, the
    lists in files of `partition_rows` customers). `checkpoint_dir`: where ALS checkpoints
    (on a cluster, storage every node reaches); a temporary directory when not given."""
    if inputs.events_from:
        raise InputError(inputs.events_from, "--events-from is not supported with --engine spark (train without it)")
    params = params or TrainParams()
    timer = StepTimer(progress=progress)
    start = time.perf_counter()
    own_checkpoints = checkpoint_dir is None
    checkpoints = Path(tempfile.mkdtemp(prefix="spark-checkpoints-")) if checkpoint_dir is None else checkpoint_dir
    try:
        spark = spark_session(master, checkpoints)
        forgotten = forgotten_customers(out_dir, inputs.forget_files, None)
        cleaned, spark_rows = _load_and_clean(spark, inputs, timer, forgotten, on_clean)
        artifact = _build(spark, cleaned, spark_rows, params, timer)
        artifact.manifest["fingerprint"] = fingerprint(inputs.purchases_path, inputs.catalog_path)
        artifact.manifest["inputs"] = {
            "purchases": str(inputs.purchases_path),
            "format": inputs.fmt,
            "catalog": str(inputs.catalog_path) if inputs.catalog_path else None,
        }
        artifact.manifest["engine"] = {"name": "spark", "master": master, "spark": spark.version}
        artifact.manifest["timings"] = {**timer.timings, "total": round(time.perf_counter() - start, 3)}
        with timer.step("save"):
            artifact.path = save_artifact(artifact, out_dir, partition_rows=partition_rows)
        return artifact
    finally:
        if own_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)


def _load_and_clean(
    spark: SparkSession,
    inputs: TrainInputs,
    timer: StepTimer,
    forgotten: set[str] | frozenset[str],
    on_clean: Callable[[CleanResult], None] | None,
) -> tuple[CleanResult, Any]:
    with timer.step("load"):
        loaded = read_purchases(spark, inputs.purchases_path, inputs.fmt)
        catalog = load_catalog(inputs.catalog_path) if inputs.catalog_path else None
    with timer.step("clean"):
        cleaned = spark_clean.clean(loaded, inputs.fmt, forgotten)
        spark_clean.refuse_if_empty(cleaned, loaded, str(inputs.purchases_path))
        result = spark_clean.to_clean_result(cleaned, catalog)
    for name, count in result.counts.items():
        log.info("clean: %s = %d", name, count)
    if on_clean is not None:
        on_clean(result)
    return result, cleaned.purchases


def _build(spark: SparkSession, cleaned: CleanResult, rows: Any, params: TrainParams, timer: StepTimer) -> Artifact:
    purchases = cleaned.purchases
    with timer.step("select"):
        validation = validate(spark, purchases, params.als, params.weights, params.quality)
    with timer.step("features"):
        interactions, history = build_interactions(purchases, COUNTS)  # the artifact's id maps and history
        replenishment = build_replenishment(purchases, interactions)
        ratings = as_rows(confidence(rows, params.weights), interactions.customers, interactions.items).cache()
    with timer.step("fit"):
        model = fit_als(ratings, params.als, interactions.shape)
        data = TrainingData.from_parts(purchases, history, replenishment, [(COUNTS, history)])
        popularity = data.fit(ModelSpec(name="popularity", family="popularity", weights=COUNTS))
        assert isinstance(popularity, PopularityRecommender)
    with timer.step("lists"):
        offerable = deliverable_mask(interactions.items.ids, cleaned.catalog)
        user_factors = spark.createDataFrame(
            pd.DataFrame(
                {"id": np.arange(interactions.shape[0], dtype=np.int32), "features": list(model.user_factors)}
            ),
            "id int, features array<float>",
        ).repartition(spark.sparkContext.defaultParallelism * 2)
        lists = collect_lists(
            spark_lists(user_factors, ratings, model.item_factors, offerable, params.als, params.list_length),
            interactions.shape[0],
            params.list_length,
        )
        pop_items, pop_scores = popularity.ranking()
        keep = offerable[pop_items]
        pop_items, pop_scores = pop_items[keep][: params.list_length], pop_scores[keep][: params.list_length]
    with timer.step("storefront"):
        catalog = cleaned.catalog.assign(item_id=cleaned.catalog["item_id"].astype(str))
        catalog = catalog[catalog["item_id"].isin(set(interactions.items.ids.tolist()))].reset_index(drop=True)
        storefront = build_storefront(
            purchases, interactions, history, model, catalog, params.store, assign=spark_segments(spark)
        )
    als_spec = ModelSpec(name="als", family="als", params=params.als, weights=params.weights)
    manifest = {
        "version": new_version(),
        "created_at": datetime.now(UTC).isoformat(),
        "model": "als",
        "factors_model": model.name,
        "params": params.model_dump(),
        "counts": {
            **cleaned.counts,
            "matrix_customers": interactions.shape[0],
            "matrix_items": interactions.shape[1],
            "matrix_nonzeros": int(history.matrix.nnz),
        },
        "data_start": str(purchases["timestamp"].min()),
        "data_end": str(purchases["timestamp"].max()),
        "selection": {
            "models": {task: {"name": "als", **als_spec.summary()} for task in ("all", "discovery")},
            "tuned": False,
            "validation": validation["split"],
            "gate": validation["gate"],
            "forced": not validation["gate"]["passed"],
        },
        "forced": not validation["gate"]["passed"],
    }
    return Artifact(
        manifest=manifest,
        customers=interactions.customers,
        items=interactions.items,
        model=model,
        popular_items=pop_items.astype(np.int32),
        popular_scores=pop_scores.astype(np.float32),
        history=history.matrix,
        replenishment=replenishment,
        catalog=catalog,
        storefront=storefront,
        countries=customer_countries(purchases, interactions.customers),
        metrics={"validation": validation},
        **lists,  # type: ignore[arg-type]
    )
