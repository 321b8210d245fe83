from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response, status
from fastapi.responses import JSONResponse

from models.rules.contact import ContactPolicy
from service.core import events, outbound
from service.http.auth import WriteAccessDep
from service.http.deps import CustomerId, LiveDep, MetricsDep, SettingsDep, StoreDep
from service.http.schemas import ErrorBody, OutboundOffer, PlausibleTime

router = APIRouter(tags=["feedback"])

REASON_HEADER = "X-Outbound-Reason"
NEXT_AT_HEADER = "X-Outbound-Next-At"


@router.get(
    "/outbound/{customer_id}",
    response_model=OutboundOffer,
    dependencies=[WriteAccessDep],
    responses={
        204: {
            "description": f"nothing to send now; `{REASON_HEADER}` says why (holiday, rest_day, quiet_hours, "
            f"contacted_recently, no_offer, forgotten) and `{NEXT_AT_HEADER}` (ISO-8601, UTC) the next time the "
            "contact policy allows a message"
        },
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        422: {"model": ErrorBody},
        429: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def get_outbound(
    customer_id: CustomerId,
    store: StoreDep,
    live: LiveDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    background: BackgroundTasks,
    now: Annotated[
        PlausibleTime | None, Query(description="ISO-8601 time to decide for (default: now; UTC if no zone)")
    ] = None,
    dry_run: Annotated[bool, Query(description="preview: do not record the contact")] = False,
) -> Response:
    """The single best offer to send this customer now by e-mail, SMS or push, or 204 with the
    reason. An offer (unless `dry_run`) counts as a contact."""
    policy = ContactPolicy.from_settings(settings)
    offer_time = now or live.clock()
    decision = await outbound.decide(store, live, policy, customer_id, offer_time, dry_run)
    metrics.outbound.labels(decision.reason or "offer").inc()
    if decision.offer is None:
        headers = {REASON_HEADER: decision.reason or "no_offer"}
        if decision.next_at is not None:
            headers[NEXT_AT_HEADER] = decision.next_at.isoformat(timespec="seconds")
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
    if not dry_run:
        offer = decision.offer
        background.add_task(
            events.record_shown,
            live,
            metrics,
            customer_id,
            [offer.item.item_id],
            offer.source,
            outbound.SECTION,
            int(offer_time.timestamp() * 1000),
            recommendation_id=offer.recommendation_id,
        )
    return JSONResponse(decision.offer.model_dump())
