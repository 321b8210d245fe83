from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from service.core import events
from service.core.deny_list import CustomerForgottenError
from service.http.auth import EventsAccessDep
from service.http.deps import LiveDep, MetricsDep, SettingsDep, StoreDep
from service.http.schemas import ErrorBody, EventBatch, EventIn, EventsAccepted

router = APIRouter(tags=["feedback"])


def _body_schema() -> dict[str, Any]:
    """The body is parsed by hand (to validate a batch whole), so its schema is given here:
    one event, or a batch of them."""
    batch = EventBatch.model_json_schema()
    batch.pop("$defs", None)
    batch["properties"]["events"]["items"] = EventIn.model_json_schema()
    schema = {"oneOf": [EventIn.model_json_schema(), batch]}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_BYTES_PER_EVENT = 1024


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventsAccepted,
    dependencies=[EventsAccessDep],
    openapi_extra={"requestBody": _body_schema()},
    responses={code: {"model": ErrorBody} for code in (401, 403, 409, 413, 422, 429, 503)},
)
async def post_events(
    request: Request, settings: SettingsDep, live: LiveDep, metrics: MetricsDep, store: StoreDep
) -> EventsAccepted:
    """Record one event or a batch `{"events": [...]}`. Each is in the durable log before the 202,
    and the very next request for that customer sees its effect. A batch naming a forgotten
    customer is refused whole with 409 (restore them first: `POST /customers/{id}/restore`).
    Takes an admin key or a publishable events key (`pk_...`, which a shop's page may hold;
    limited per key and per client IP). Clicks, purchases and returns count for the running
    experiment's variant: the one their `recommendation_id` names, else the customer's, for an
    item the service showed them."""
    limit = settings.events_max_batch * _BYTES_PER_EVENT + 4096
    if int(request.headers.get("content-length") or 0) > limit:
        metrics.events_rejected.labels("too_large").inc()
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body larger than {limit} bytes")
    try:
        parsed = events.parse_events(
            await request.body(), settings.events_max_batch, live.clock(), settings.events_max_future_s
        )
    except Exception:
        metrics.events_rejected.labels("invalid").inc()
        raise
    try:
        recorded = await events.record_events(live, metrics, parsed, store)
    except CustomerForgottenError:
        metrics.events_rejected.labels("forgotten").inc()
        raise
    webhook = getattr(request.app.state, "complaint_webhook", None)
    if webhook is not None:  # only enqueues: the webhook's answer never delays or fails this request
        webhook.notify(parsed, recorded, live.segment_of)
    return EventsAccepted(accepted=len(recorded), ids=[r.id for r in recorded])
