from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import items
from service.deps import ItemId, StoreDep
from service.recommendations import active_version
from service.schemas import ErrorBody, SimilarItems

router = APIRouter(tags=["items"])


@router.get(
    "/items/{item_id}/similar",
    response_model=SimilarItems,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def similar(
    item_id: ItemId,
    store: StoreDep,
    k: Annotated[int, Query(ge=1, le=50, description="how many items")] = 10,
) -> SimilarItems:
    """Items most often bought by the same customers, deliverable today. 404 for an item the
    model version does not know."""
    return await items.similar_items(store, await active_version(store), item_id, k)
