from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query

from service.core import events
from service.core import recommend as recommendations
from service.http.auth import RecordingDep
from service.http.deps import CustomerId, ItemFiltersDep, LiveDep, MetricsDep, StoresDep
from service.http.params import DEFAULT_K, MAX_RECOMMEND_K, MIN_K
from service.http.schemas import BatchRecommendation, BatchRecommendRequest, ErrorBody, Recommendation
from service.routes.methods import refuse_other_methods

BATCH = "/recommend/batch"

router = APIRouter(tags=["recommendations"])
refuse_other_methods(router, BATCH, "POST")  # before /recommend/{customer_id}: "batch" is no customer


@router.get(
    "/recommend/{customer_id}",
    response_model=Recommendation,
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        422: {"model": ErrorBody},
        429: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def recommend(
    customer_id: CustomerId,
    stores: StoresDep,
    filters: ItemFiltersDep,
    live: LiveDep,
    metrics: MetricsDep,
    background: BackgroundTasks,
    record: RecordingDep,
    k: Annotated[int, Query(ge=MIN_K, le=MAX_RECOMMEND_K, description="how many items")] = DEFAULT_K,
    include_purchased: Annotated[bool, Query(description="allow items the customer already bought")] = False,
) -> Recommendation:
    """A customer's ranked offers, each with a short reason. Unknown customers get popular items
    (`source: popular`). `exclude` and `category` filter, and the next candidates refill. What the
    customer did since the model was trained (POST /events) is already taken into account.
    While Redis is down the answer comes from the service's in-process copy (`degraded: true`).
    The answer counts as an impression of its items (frequency capping) unless `record=false`."""
    answer = await stores.answer(
        lambda store: recommendations.recommend(
            store, customer_id, k, include_purchased, filters.exclude, filters.category, live
        )
    )
    reco = answer.recommendation
    if reco.items and record:
        items = [i.item_id for i in reco.items]
        background.add_task(
            events.record_shown,
            live,
            metrics,
            customer_id,
            items,
            reco.source,
            recommendations.SECTION,
            capped=answer.capped,
            recommendation_id=reco.recommendation_id,
        )
    return reco


@router.post(
    BATCH,
    response_model=BatchRecommendation,
    responses={400: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def recommend_batch(request: BatchRecommendRequest, stores: StoresDep, live: LiveDep) -> BatchRecommendation:
    """Offers for up to 500 customers at once (e-mail and CRM jobs), all from one model version,
    with each customer's live state taken into account."""
    return await stores.answer(lambda store: recommendations.recommend_batch(store, request, live))
