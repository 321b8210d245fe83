"""Every recommender by its `name`, with its parameters class: the one table of models.

Training's specs, tuning's search ranges, blends (saved or built) and the artifact (its
`model.npz` and the manifest's chosen models) all find a model and validate its parameters
here, so a model added to `MODEL_TYPES` is known everywhere at once (and the contract tests,
parametrized over this table, run on it). This module sits above every model: `blend` gets its
parts' constructor from here (`load_model`) instead of importing this table back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.algorithms.als import ALSRecommender
from models.algorithms.base import Recommender
from models.algorithms.blend import BlendRecommender
from models.algorithms.ease import EASERecommender
from models.algorithms.knn import ItemKNNRecommender
from models.algorithms.params import ModelParams, validate
from models.algorithms.popular import PopularityRecommender
from models.algorithms.recent_popular import RecentPopularityRecommender
from models.algorithms.repurchase import PurchaseFrequencyRecommender, RepurchaseRecommender
from models.algorithms.rp3beta import RP3betaRecommender
from models.algorithms.tifu import TIFUKNNRecommender
from models.algorithms.topfreq import GPTopFreqRecommender
from models.algorithms.two_stage import TwoStageRecommender


@dataclass(frozen=True)
class ModelType:
    cls: type[Recommender]
    params: type[ModelParams]


MODEL_TYPES: dict[str, ModelType] = {
    cls.name: ModelType(cls, cls.Params)
    for cls in (
        ALSRecommender,
        BlendRecommender,
        EASERecommender,
        ItemKNNRecommender,
        PopularityRecommender,
        RecentPopularityRecommender,
        PurchaseFrequencyRecommender,
        RepurchaseRecommender,
        GPTopFreqRecommender,
        RP3betaRecommender,
        TIFUKNNRecommender,
        TwoStageRecommender,
    )
}


def model_type(name: str) -> ModelType:
    try:
        return MODEL_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODEL_TYPES))}") from None


def validate_params(name: str, params: ModelParams | Mapping[str, Any] | str | None = None) -> ModelParams:
    """`params` (object, dict or JSON; None = defaults) checked by the model's parameters class."""
    return validate(name, model_type(name).params, params)


def new_model(name: str, params: ModelParams | Mapping[str, Any] | str | None = None) -> Recommender:
    """An unfitted model of the named type (a blend gets `new_model` to make its parts when loaded)."""
    kind = model_type(name)
    checked = validate_params(name, params)
    if issubclass(kind.cls, BlendRecommender):
        return kind.cls(params=checked, new_part=new_model)
    return kind.cls(checked)


def load_model(name: str, path: Path) -> Recommender:
    """The model saved at `path` (its parameters validated), of the named type."""
    return new_model(name).load(path)


def check_description(described: Mapping[str, Any]) -> None:
    """A model as the manifest describes it (`family`, `params`, a blend's `parts`, each with
    the same keys) names known models with parameters they accept; raises `ValueError`."""
    validate_params(str(described["family"]), described.get("params"))
    for part in described.get("parts", ()):
        check_description(part)
