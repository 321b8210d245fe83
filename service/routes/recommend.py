from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query

from service import events, recommendations
from service.deps import CustomerId, LiveDep, MetricsDep, StoreDep
from service.schemas import ErrorBody, Recommendation

SECTION = "recommend"

router = APIRouter(tags=["recommendations"])


@router.get(
    "/recommend/{customer_id}",
    response_model=Recommendation,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def recommend(
    customer_id: CustomerId,
    store: StoreDep,
    live: LiveDep,
    metrics: MetricsDep,
    background: BackgroundTasks,
    k: Annotated[int, Query(ge=1, le=100, description="how many items")] = 10,
    include_purchased: Annotated[bool, Query(description="allow items the customer already bought")] = False,
) -> Recommendation:
    """A customer's ranked offers. Unknown customers get popular items (`source: popular`).
    What the customer did since the model was trained (POST /events) is already taken into account."""
    reco = await recommendations.recommend(store, customer_id, k, include_purchased, live)
    if reco.items:
        items = [i.item_id for i in reco.items]
        background.add_task(events.record_shown, live, metrics, customer_id, items, reco.source, SECTION)
    return reco
