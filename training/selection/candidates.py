"""Model specifications: which model, with which parameters, on which confidence weights.

A `ModelSpec` is plain data (pydantic, JSON in the manifest): tuning searches over specs, the
evaluation fits them, and the artifact records the winners'. `TrainingData` is one purchase
history turned into what the models read: a confidence matrix per weighting (cached) and the
purchase times for the time-aware ones. The baselines every report shows are specs too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.base import Recommender
from models.algorithms.blend import BlendRecommender
from models.algorithms.ease import EASEParams, EASERecommender
from models.algorithms.interactions import Interactions
from models.algorithms.knn import ItemKNNRecommender, KNNParams
from models.algorithms.popular import PopularityRecommender
from models.algorithms.recent_popular import RecentPopularityParams, RecentPopularityRecommender
from models.algorithms.repurchase import PurchaseFrequencyRecommender, RepurchaseParams, RepurchaseRecommender
from models.algorithms.timed import PurchaseTimes, TimeAwareRecommender
from models.rules.replenishment import ReplenishmentStats
from training.data.features import WeightParams, build_interactions, build_replenishment, day_number

COUNTS = WeightParams(scheme="count", half_life_days=None)  # plain purchase-occasion counts

_PARAMS: dict[str, type[BaseModel]] = {
    "als": ALSParams,
    "ease": EASEParams,
    "item_knn": KNNParams,
    "recent_popularity": RecentPopularityParams,
    "repurchase": RepurchaseParams,
}
_PLAIN: dict[str, type[Recommender]] = {
    "popularity": PopularityRecommender,
    "purchase_frequency": PurchaseFrequencyRecommender,
}
_WITH_PARAMS: dict[str, type[Any]] = {
    "als": ALSRecommender,
    "ease": EASERecommender,
    "item_knn": ItemKNNRecommender,
    "recent_popularity": RecentPopularityRecommender,
    "repurchase": RepurchaseRecommender,
}


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # its row in reports, e.g. "ease" or "als_default"
    family: str  # als | ease | item_knn | popularity | recent_popularity | purchase_frequency | repurchase | blend
    params: dict[str, Any] = {}
    weights: WeightParams = WeightParams()  # the confidence matrix it learns from (blend: shared by its parts)
    parts: tuple[tuple[ModelSpec, float], ...] = ()  # blends only: (part, weight)

    def key(self) -> str:
        return self.model_dump_json(exclude={"name"})

    def summary(self) -> dict[str, Any]:
        """What the manifest and reports record about it."""
        out: dict[str, Any] = {"family": self.family, "params": self.params, "weights": self.weights.model_dump()}
        if self.parts:
            out["parts"] = [{"weight": w, **p.summary()} for p, w in self.parts]
        return out


def build_model(spec: ModelSpec, times: PurchaseTimes) -> Recommender:
    """An unfitted model for `spec`; time-aware ones get `times`."""
    if spec.family == "blend":
        return BlendRecommender([(build_model(part, times), w) for part, w in spec.parts])
    if spec.family in _PLAIN:
        model: Recommender = _PLAIN[spec.family]()
    elif spec.family in _WITH_PARAMS:
        model = _WITH_PARAMS[spec.family](_PARAMS[spec.family].model_validate(spec.params))
    else:
        raise ValueError(f"unknown model family {spec.family!r}")
    if isinstance(model, TimeAwareRecommender):
        model.with_times(times)
    return model


@dataclass
class TrainingData:
    """A purchase history as models read it. Matrices and fitted models are cached by spec, so
    a blend reuses parts already fitted on the same data."""

    purchases: pd.DataFrame
    history: Interactions
    times: PurchaseTimes
    _matrices: dict[str, Interactions] = field(default_factory=dict, repr=False)
    _fitted: dict[str, Recommender] = field(default_factory=dict, repr=False)

    @classmethod
    def from_purchases(cls, purchases: pd.DataFrame) -> TrainingData:
        counts, history = build_interactions(purchases, COUNTS)
        data = cls.from_parts(purchases, history, build_replenishment(purchases, history))
        data._matrices[COUNTS.model_dump_json()] = counts
        return data

    @classmethod
    def from_parts(
        cls,
        purchases: pd.DataFrame,
        history: Interactions,
        stats: ReplenishmentStats,
        known: Sequence[tuple[WeightParams, Interactions]] = (),
        fitted: Sequence[tuple[ModelSpec, Recommender]] = (),
    ) -> TrainingData:
        """From pieces already computed (the training pipeline's), so nothing is built twice."""
        today = float(day_number(pd.Series([purchases["timestamp"].max()]))[0])
        data = cls(purchases, history, PurchaseTimes(stats, today))
        data._matrices.update({w.model_dump_json(): m for w, m in known})
        data._fitted.update({spec.key(): model for spec, model in fitted})
        return data

    def matrix(self, weights: WeightParams) -> Interactions:
        key = weights.model_dump_json()
        if key not in self._matrices:
            self._matrices[key], _ = build_interactions(self.purchases, weights, items=self.history.items)
        return self._matrices[key]

    def fit(self, spec: ModelSpec, cache: bool = True) -> Recommender:
        """`spec` fitted on this data (blend parts reuse cached fits)."""
        key = spec.key()
        if key in self._fitted:
            return self._fitted[key]
        if spec.family == "blend":
            model: Recommender = BlendRecommender([(self.fit(p, cache), w) for p, w in spec.parts])
        else:
            model = build_model(spec, self.times)
        model.fit(self.matrix(spec.weights))
        if cache:
            self._fitted[key] = model
        return model


def als_spec(name: str, params: ALSParams, weights: WeightParams) -> ModelSpec:
    return ModelSpec(name=name, family="als", params=params.model_dump(), weights=weights)


def baseline_specs(recent_window_days: float = 14.0) -> list[ModelSpec]:
    """What a shop gets for free, each with its library's default parameters."""
    return [
        ModelSpec(name="popularity", family="popularity", weights=COUNTS),
        ModelSpec(
            name="recent_popularity",
            family="recent_popularity",
            weights=COUNTS,
            params={"window_days": recent_window_days},
        ),
        ModelSpec(name="purchase_frequency", family="purchase_frequency", weights=COUNTS),
        ModelSpec(name="item_knn_cosine", family="item_knn", weights=COUNTS, params={"similarity": "cosine"}),
        ModelSpec(name="item_knn_bm25", family="item_knn", weights=COUNTS, params={"similarity": "bm25"}),
        ModelSpec(
            name="als_default",
            family="als",
            weights=COUNTS,
            params={"factors": 100, "regularization": 0.01, "alpha": 1.0, "iterations": 15},
        ),
    ]


def blend_spec(name: str, parts: list[tuple[ModelSpec, float]]) -> ModelSpec:
    """A blend whose shared weights are those of its first part that reads the matrix."""
    readers = [p for p, _ in parts if p.family not in ("recent_popularity", "repurchase", "purchase_frequency")]
    weights = readers[0].weights if readers else COUNTS
    return ModelSpec(name=name, family="blend", weights=weights, parts=tuple(parts))
