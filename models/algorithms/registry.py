"""Every recommender by its `name`: how a saved blend finds the classes of its parts."""

from __future__ import annotations

from models.algorithms.als import ALSRecommender
from models.algorithms.base import Recommender
from models.algorithms.blend import BlendRecommender
from models.algorithms.ease import EASERecommender
from models.algorithms.knn import ItemKNNRecommender
from models.algorithms.popular import PopularityRecommender
from models.algorithms.recent_popular import RecentPopularityRecommender
from models.algorithms.repurchase import PurchaseFrequencyRecommender, RepurchaseRecommender

MODEL_TYPES: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        ALSRecommender,
        BlendRecommender,
        EASERecommender,
        ItemKNNRecommender,
        PopularityRecommender,
        RecentPopularityRecommender,
        PurchaseFrequencyRecommender,
        RepurchaseRecommender,
    )
}


def new_model(name: str) -> Recommender:
    """An unfitted model of the named type with default parameters (to `load` or `_restore`)."""
    try:
        return MODEL_TYPES[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODEL_TYPES))}") from None
