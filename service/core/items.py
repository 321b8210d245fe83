"""The domain core behind `/items/{item_id}/similar`: the item's precomputed neighbours, passed
through the request-time catalog rules (an unavailable neighbour is replaced by the next one) and
the global business rules (a pin here only moves a neighbour first: it does not make an item similar)."""

from __future__ import annotations

from models import contract
from models.contract.store_documents import similar_doc
from models.rules.business import NO_RULES, ListRules
from service.core import experiments
from service.core.experiments import NO_EXPERIMENT
from service.core.filters import ItemFilter
from service.http.errors import NotFoundError
from service.http.schemas import SimilarItems, StoreItem
from service.storage.stores import OfferStore

SURFACE = "similar"  # similar items know no customer: their id names the item, and no variant


async def similar_items(
    store: OfferStore, version: str, item_id: str, k: int, business: ListRules = NO_RULES
) -> SimilarItems:
    catalog = await store.catalog(version)
    if item_id not in catalog:
        raise NotFoundError(
            f"item {item_id!r} is not in model version {version}: only items bought in the training data "
            "have similar items"
        )
    raw = await store.document(version, similar_doc(item_id))
    rules = ItemFilter.of(catalog, exclude={item_id}, business=business)
    candidates: dict[str, contract.Offer] = {}
    for o in contract.decode_offers(raw) if raw else []:
        candidates.setdefault(o.item_id, o)
    neighbours = [candidates[i] for i in rules.pick(list(candidates), k)]
    anchor = rules.title(item_id)
    return SimilarItems(
        item_id=item_id,
        title=anchor,
        model_version=version,
        recommendation_id=experiments.stamp(NO_EXPERIMENT, version, SURFACE, item_id),
        items=[
            StoreItem(
                item_id=o.item_id,
                title=rules.title(o.item_id),
                price=rules.price(o.item_id),
                score=o.score,
                reason=f"often bought by customers who bought {anchor}",
                **rules.extras(o.item_id),
            )
            for o in neighbours
        ],
    )
