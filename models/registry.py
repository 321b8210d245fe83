"""Every recommender by its `name`: how a saved blend finds the classes of its parts."""

from __future__ import annotations

from models.als import ALSRecommender
from models.base import Recommender
from models.blend import BlendRecommender
from models.ease import EASERecommender
from models.knn import ItemKNNRecommender
from models.popular import PopularityRecommender
from models.recent_popular import RecentPopularityRecommender
from models.repurchase import PurchaseFrequencyRecommender, RepurchaseRecommender

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
