"""The training job as a pipeline of small steps, in this order:
[events ->] load -> clean -> select -> features -> fit -> lists -> storefront -> save.

Each step is timed and logged; `train` composes them. `select` (tuning and the quality gate,
on a validation window) comes before the features and fits on all the data, so a refused run
stops before the costly part. `fit` fits every model from its spec through the registry: the
selected models, the ALS whose factors the service folds new customers into, and popularity.
Nothing is written until every step succeeded, and the artifact lands atomically (see
`models.contract.artifact`), so a failed run leaves the previous model serving.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.base import Recommender
from models.algorithms.popular import PopularityRecommender
from models.algorithms.two_stage import TwoStageRecommender
from models.contract.artifact import Artifact, save_artifact
from training.data.clean import CleanResult, clean_purchases
from training.data.clean_report import nothing_left
from training.data.events import FeedbackWeights, FoldedEvents, apply_feedback, collect_events, is_redis_url
from training.data.features import WeightParams, build_interactions, build_replenishment, customer_countries
from training.data.forget import forgotten_customers
from training.data.load import Format, load_catalog, read_purchases
from training.errors import InputError
from training.evaluation.report import render_html
from training.lists import LIST_LENGTH, precompute_lists
from training.selection.candidates import COUNTS, ModelSpec, TrainingData
from training.selection.select import QualityParams, fit_selected, select_models
from training.storefront.build import StoreParams, build_storefront, deliverable_mask

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Recommender)


class TrainParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    als: ALSParams = Field(default_factory=ALSParams)  # the artifact's ALS (fold-in, similar items)
    weights: WeightParams = Field(default_factory=WeightParams)
    list_length: int = LIST_LENGTH
    store: StoreParams = Field(default_factory=StoreParams)
    feedback: FeedbackWeights = Field(default_factory=FeedbackWeights)
    quality: QualityParams = Field(default_factory=QualityParams)


@dataclass
class TrainInputs:
    purchases_path: Path
    fmt: Format = "canonical"
    catalog_path: Path | None = None
    events_from: str | None = None  # Redis URL or JSONL file of feedback events (see training.data.events)
    forget_files: tuple[Path, ...] = ()  # deny lists besides <out>/privacy/forgotten.txt (see training.data.forget)


@dataclass
class StepTimer:
    """Collects how long each step took, for the manifest and the progress log."""

    timings: dict[str, float] = field(default_factory=dict)
    progress: Callable[[str], None] | None = None

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        if self.progress:
            self.progress(f"{name} ...")
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        log.info("step %s done in %.2fs", name, self.timings[name])
        if self.progress:
            self.progress(f"{name} done in {self.timings[name]:.2f}s")


def fingerprint(*paths: Path | None) -> str:
    """Content hash of the input files: the same data always gives the same fingerprint."""
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            continue
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def new_version(now: datetime | None = None) -> str:
    """Sortable by creation time, so 'newest' is simply the largest name."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def load_and_clean(
    inputs: TrainInputs,
    timer: StepTimer,
    folded: FoldedEvents | None = None,
    forgotten: Collection[str] = (),
    on_clean: Callable[[CleanResult], None] | None = None,
) -> CleanResult:
    """Load, fold in events, clean with the rules of `inputs.fmt`; `on_clean` sees the result
    before anything can fail on it (the CLI prints its summary whatever happens next)."""
    with timer.step("load"):
        loaded = read_purchases(inputs.purchases_path, inputs.fmt)
        raw = folded.add_purchases(loaded.frame) if folded is not None else loaded.frame
        catalog = load_catalog(inputs.catalog_path) if inputs.catalog_path else None
    with timer.step("clean"):
        cleaned = clean_purchases(raw, catalog, forgotten, fmt=inputs.fmt)
    for name, count in cleaned.counts.items():
        log.info("clean: %s = %d", name, count)
    if on_clean is not None:
        on_clean(cleaned)
    if cleaned.purchases.empty:
        raise InputError(str(inputs.purchases_path), nothing_left(cleaned, raw, loaded))
    return cleaned


def build_artifact(
    cleaned: CleanResult,
    params: TrainParams,
    timer: StepTimer,
    extra_manifest: dict[str, Any] | None = None,
    folded: FoldedEvents | None = None,
) -> Artifact:
    with timer.step("select"):  # tuning and the quality gate, before anything else is fitted
        selection = select_models(cleaned.purchases, params.quality, timer.progress)
    with timer.step("features"):
        interactions, history = build_interactions(cleaned.purchases, params.weights)
        replenishment = build_replenishment(cleaned.purchases, interactions)
        if folded is not None:
            interactions = apply_feedback(interactions, folded.events, params.feedback)
    with timer.step("fit"):
        # `history` holds plain occasion counts: it is the COUNTS matrix, not built twice.
        known = [(params.weights, interactions), (COUNTS, history)]
        data = TrainingData.from_parts(cleaned.purchases, history, replenishment, known)
        factors = ModelSpec(name="als", family="als", params=params.als, weights=params.weights)
        model = _fit_as(data, factors, ALSRecommender)  # the selected models reuse it when they have it
        popular = ModelSpec(name="popularity", family="popularity", weights=COUNTS)
        popularity = _fit_as(data, popular, PopularityRecommender)
        offers_model, offers_matrix = fit_selected(selection, data)
    with timer.step("lists"):
        # Unavailable items never enter a list; future `available_from` dates are checked per
        # request, so those items appear on their day without retraining.
        offerable = deliverable_mask(interactions.items.ids, cleaned.catalog)
        lists = precompute_lists(offers_model, offers_matrix, offerable, params.list_length)
        pop_items, pop_scores = popularity.ranking()
        keep = offerable[pop_items]
        pop_items, pop_scores = pop_items[keep][: params.list_length], pop_scores[keep][: params.list_length]
    with timer.step("storefront"):
        catalog = _catalog_for(cleaned.catalog, interactions.items.ids)
        storefront = build_storefront(cleaned.purchases, interactions, history, model, catalog, params.store)
    manifest = {
        "version": new_version(),
        "created_at": datetime.now(UTC).isoformat(),
        # What the published lists come from (the selected blend); `model.npz` keeps the ALS
        # factors the service folds new customers into.
        "model": selection.specs.get("all", selection.specs["discovery"]).name,
        "factors_model": model.name,
        "params": params.model_dump(),
        "counts": {
            **cleaned.counts,
            "matrix_customers": interactions.shape[0],
            "matrix_items": interactions.shape[1],
            "matrix_nonzeros": int(interactions.matrix.nnz),
        },
        "data_start": str(cleaned.purchases["timestamp"].min()),
        "data_end": str(cleaned.purchases["timestamp"].max()),
        "selection": selection.manifest(),
        "forced": selection.forced,
        **published_ranker(offers_model),
        **(extra_manifest or {}),
    }
    metrics = selection.result()
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
        countries=customer_countries(cleaned.purchases, interactions.customers),
        events=folded.events if folded is not None else None,
        metrics=metrics,
        reports={"report.html": render_html(metrics, title="Micro-offers: validation of this model").encode()},
        **lists,  # type: ignore[arg-type]  # the four list arrays by name; mypy reads **dict as every field
    )


def published_ranker(model: Recommender) -> dict[str, Any]:
    """When the lists come from the two-stage model: its label window and feature importances
    as refitted on all the data (the manifest's `ranker`)."""
    if not isinstance(model, TwoStageRecommender):
        return {}
    return {"ranker": model.summary()}


def _fit_as(data: TrainingData, spec: ModelSpec, cls: type[M]) -> M:
    """`spec` fitted on `data`, checked to be the class the artifact stores for it."""
    model = data.fit(spec)
    if not isinstance(model, cls):
        raise TypeError(f"{spec.name}: expected a {cls.__name__}, the registry made a {type(model).__name__}")
    return model


def _catalog_for(catalog: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
    """Catalog rows for the items the model knows, ids as strings."""
    cat = catalog.copy()
    cat["item_id"] = cat["item_id"].astype(str)
    return cat[cat["item_id"].isin(set(item_ids.tolist()))].reset_index(drop=True)


def train(
    inputs: TrainInputs,
    out_dir: Path,
    params: TrainParams | None = None,
    progress: Callable[[str], None] | None = None,
    on_clean: Callable[[CleanResult], None] | None = None,
) -> Artifact:
    """Run the whole job; returns the artifact it wrote, `path` set to its version directory
    (callers read its metrics and manifest without loading it back)."""
    params = params or TrainParams()
    timer = StepTimer(progress=progress)
    start = time.perf_counter()
    redis_url = inputs.events_from if inputs.events_from and is_redis_url(inputs.events_from) else None
    forgotten = forgotten_customers(out_dir, inputs.forget_files, redis_url)
    folded = None
    if inputs.events_from:
        with timer.step("events"):
            folded = collect_events(inputs.events_from, out_dir, forgotten)
    cleaned = load_and_clean(inputs, timer, folded, forgotten, on_clean)
    extra: dict[str, Any] = {
        "fingerprint": fingerprint(inputs.purchases_path, inputs.catalog_path),
        "inputs": _describe(inputs),
    }
    if folded is not None:
        extra["events"] = folded.manifest
    artifact = build_artifact(cleaned, params, timer, extra, folded)
    artifact.manifest["timings"] = {**timer.timings, "total": round(time.perf_counter() - start, 3)}
    with timer.step("save"):
        artifact.path = save_artifact(artifact, out_dir)
    return artifact


def _describe(inputs: TrainInputs) -> dict[str, str | None]:
    return {
        "purchases": str(inputs.purchases_path),
        "format": inputs.fmt,
        "catalog": str(inputs.catalog_path) if inputs.catalog_path else None,
    }
