from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query

from service import recommendations
from service.deps import CustomerId, LiveDep, MetricsDep, StoreDep
from service.live.overlays import LiveContext
from service.metrics import Metrics
from service.schemas import ErrorBody, Recommendation
from service.store import StoreUnavailableError

log = logging.getLogger(__name__)
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
        background.add_task(record_shown, live, metrics, reco, SECTION)
    return reco


async def record_shown(live: LiveContext, metrics: Metrics, reco: Recommendation, section: str) -> None:
    """The answer's items count as impressions (frequency capping, click-through). Runs after the
    response is sent, so it never delays or fails it; a failure is only logged."""
    items = [i.item_id for i in reco.items]
    segment = live.segment_of(reco.customer_id)
    try:
        await live.state.record_impressions(reco.customer_id, items, reco.source, section, segment, live.now_ms())
    except StoreUnavailableError as exc:
        log.warning("impressions of %s not recorded: %s", reco.customer_id, exc)
        return
    metrics.count_feedback("impression", reco.source, section, segment, len(items))
