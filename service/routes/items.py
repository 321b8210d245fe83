from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from models.rules.business import ListRules
from service.core import items
from service.core.recommend import active_version
from service.http.deps import ItemId, LiveDep, StoresDep
from service.http.schemas import ErrorBody, SimilarItems
from service.storage.stores import OfferStore

router = APIRouter(tags=["items"])


@router.get(
    "/items/{item_id}/similar",
    response_model=SimilarItems,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def similar(
    item_id: ItemId,
    stores: StoresDep,
    live: LiveDep,
    k: Annotated[int, Query(ge=1, le=50, description="how many items")] = 10,
) -> SimilarItems:
    """Items most often bought by the same customers, deliverable today, after the global
    business rules. 404 for an item the model version does not know."""
    business = live.rule_set().for_list(None, live.clock())
    return await stores.answer(lambda store: _similar(store, item_id, k, business))


async def _similar(store: OfferStore, item_id: str, k: int, business: ListRules) -> SimilarItems:
    """Similar items know no customer: their id names the item, and no experiment variant."""
    return await items.similar_items(store, await active_version(store), item_id, k, business)
