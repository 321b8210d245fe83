from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service import recommendations
from service.deps import CustomerId, StoresDep
from service.schemas import ErrorBody, Recommendation

router = APIRouter(tags=["recommendations"])


@router.get(
    "/recommend/{customer_id}",
    response_model=Recommendation,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def recommend(
    customer_id: CustomerId,
    stores: StoresDep,
    k: Annotated[int, Query(ge=1, le=100, description="how many items")] = 10,
    include_purchased: Annotated[bool, Query(description="allow items the customer already bought")] = False,
) -> Recommendation:
    """A customer's ranked offers. Unknown customers get popular items (`source: popular`).
    While Redis is down the answer comes from the service's in-process copy (`degraded: true`)."""
    return await stores.answer(lambda store: recommendations.recommend(store, customer_id, k, include_purchased))
