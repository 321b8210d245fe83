"""Model specifications: which model, with which parameters, on which confidence weights.

A `ModelSpec` is plain data (pydantic, JSON in the manifest): tuning searches over specs, the
evaluation fits them, and the artifact records the winners'. Its family and parameters are
checked against the one table of models, `models.algorithms.registry`: the parameters are the
family's own params object (a dict is validated into it), so a spec cannot carry a parameter
its model ignores. `TrainingData` is one purchase history turned into what the models read: a
confidence matrix per weighting (cached) and the purchase times for the time-aware ones. The
baselines every report shows are specs too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, SerializeAsAny, model_validator

from models.algorithms.als import ALSParams
from models.algorithms.base import Recommender
from models.algorithms.blend import BlendRecommender
from models.algorithms.interactions import Interactions
from models.algorithms.knn import KNNParams
from models.algorithms.params import ModelParams, NoParams
from models.algorithms.recent_popular import RecentPopularityParams
from models.algorithms.registry import model_type, new_model, validate_params
from models.algorithms.timed import PurchaseTimes, TimeAwareRecommender
from models.rules.replenishment import ReplenishmentStats
from training.data.features import WeightParams, build_interactions, build_replenishment, day_number, purchase_log

COUNTS = WeightParams(scheme="count", half_life_days=None)  # plain purchase-occasion counts
BLEND = "blend"


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # its row in reports, e.g. "ease" or "als_default"
    family: str  # a model name in `models.algorithms.registry`
    params: SerializeAsAny[ModelParams] = NoParams()  # the family's params class (defaults when omitted)
    weights: WeightParams = WeightParams()  # the confidence matrix it learns from (blend: shared by its parts)
    parts: tuple[tuple[ModelSpec, float], ...] = ()  # blends only: (part, weight)

    @model_validator(mode="before")
    @classmethod
    def _params_of_family(cls, data: Any) -> Any:
        """The parameters become the family's params object: unknown ones are refused, naming
        the model and the parameter; missing ones take the model's defaults."""
        if isinstance(data, dict) and "family" in data:
            data = {**data, "params": validate_params(str(data["family"]), data.get("params"))}
        return data

    @model_validator(mode="after")
    def _parts_only_for_blends(self) -> ModelSpec:
        if (self.family == BLEND) != bool(self.parts):
            raise ValueError(f"spec {self.name!r}: a blend, and only a blend, has parts")
        return self

    def key(self) -> str:
        return self.model_dump_json(exclude={"name"})

    def summary(self) -> dict[str, Any]:
        """What the manifest and reports record about it (every parameter, defaults included)."""
        out: dict[str, Any] = {
            "family": self.family,
            "params": self.params.model_dump(mode="json"),
            "weights": self.weights.model_dump(),
        }
        if self.parts:
            out["parts"] = [{"weight": w, **p.summary()} for p, w in self.parts]
        return out


def build_model(spec: ModelSpec, times: PurchaseTimes) -> Recommender:
    """An unfitted model for a spec that is not a blend, from the registry; time-aware ones get `times`."""
    model = new_model(spec.family, spec.params)
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
    ) -> TrainingData:
        """From pieces already computed (the training pipeline's matrices), so nothing is built
        twice; every model is then fitted here, from its spec."""
        today = float(day_number(pd.Series([purchases["timestamp"].max()]))[0])
        data = cls(purchases, history, PurchaseTimes(stats, today, purchase_log(purchases, history)))
        data._matrices.update({w.model_dump_json(): m for w, m in known})
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
        if spec.family == BLEND:
            model: Recommender = BlendRecommender([(self.fit(p, cache), w) for p, w in spec.parts])
        else:
            model = build_model(spec, self.times)
        model.fit(self.matrix(spec.weights))
        if cache:
            self._fitted[key] = model
        return model


def baseline_specs(recent_window_days: float = 14.0) -> list[ModelSpec]:
    """What a shop gets for free, each with its library's default parameters."""
    return [
        ModelSpec(name="popularity", family="popularity", weights=COUNTS),
        ModelSpec(
            name="recent_popularity",
            family="recent_popularity",
            weights=COUNTS,
            params=RecentPopularityParams(window_days=recent_window_days),
        ),
        ModelSpec(name="purchase_frequency", family="purchase_frequency", weights=COUNTS),
        ModelSpec(name="item_knn_cosine", family="item_knn", weights=COUNTS, params=KNNParams(similarity="cosine")),
        ModelSpec(name="item_knn_bm25", family="item_knn", weights=COUNTS, params=KNNParams(similarity="bm25")),
        ModelSpec(
            name="als_default",
            family="als",
            weights=COUNTS,
            params=ALSParams(factors=100, regularization=0.01, alpha=1.0, iterations=15),
        ),
    ]


def blend_spec(name: str, parts: list[tuple[ModelSpec, float]]) -> ModelSpec:
    """A blend whose shared weights are those of its first part that reads the matrix."""
    readers = [p for p, _ in parts if p.family == BLEND or model_type(p.family).cls.reads_matrix]
    weights = readers[0].weights if readers else COUNTS
    return ModelSpec(name=name, family=BLEND, weights=weights, parts=tuple(parts))
