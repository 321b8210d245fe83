"""POST /events behind the route: validate the whole body, then record every event at once.

Validation comes first and covers the whole batch (shape, ids, types, size, timestamps ahead of
the clock), so an invalid batch changes nothing; only then are the events logged and applied,
in one atomic step of the live state.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from models.contract.events import Event
from models.contract.experiments import decode_recommendation_id
from service.core import experiments
from service.core.deny_list import CustomerForgottenError
from service.http.schemas import EventBatch, EventIn
from service.live.overlays import LiveContext
from service.live.state import Impressions, Recorded
from service.observability.logs import hash_id
from service.observability.metrics import Metrics
from service.storage.stores import OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


def parse_events(body: bytes, max_batch: int, now: datetime, max_future_s: float) -> list[Event]:
    """One event object or `{"events": [...]}` into events; any problem raises a 422 naming
    the field (e.g. `events.3.timestamp`)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _invalid((), f"body is not valid JSON: {exc}", "json_invalid") from exc
    if isinstance(data, dict) and "events" in data:
        raw = data["events"]
        if isinstance(raw, list) and len(raw) > max_batch:
            raise _invalid(("events",), f"at most {max_batch} events per request, got {len(raw)}", "too_long")
        batch = _validate(EventBatch, data)
        items = batch.events
        prefixes: list[tuple[str | int, ...]] = [("events", n) for n in range(len(batch.events))]
    else:
        items, prefixes = [_validate(EventIn, data)], [()]
    latest = now + timedelta(seconds=max_future_s)
    events = []
    for item, prefix in zip(items, prefixes, strict=True):
        moment = item.timestamp or now
        if moment > latest:
            raise _invalid((*prefix, "timestamp"), f"lies in the future (after {latest.isoformat()})", "future")
        if item.recommendation_id is not None:
            _check_recommendation_id(item.recommendation_id, (*prefix, "recommendation_id"))
        ts_ms = int(moment.timestamp() * 1000)
        events.append(
            Event(
                item.customer_id,
                item.item_id,
                item.type,
                ts_ms,
                item.quantity,
                item.section,
                item.recommendation_id,
                item.price,
            )
        )
    return events


def _check_recommendation_id(token: str, loc: tuple[str | int, ...]) -> None:
    try:
        decode_recommendation_id(token)
    except ValueError as exc:
        raise _invalid(loc, "is not a recommendation_id this service gave out", "value_error") from exc


async def record_events(
    live: LiveContext, metrics: Metrics, events: list[Event], store: OfferStore | None = None
) -> list[Recorded]:
    """All or nothing; a batch naming a forgotten customer is refused whole (409), checked here
    against this process's deny list and again by the live state against the durable one. With
    `store` (for catalog prices), the recorded events count for the running experiment's variants."""
    denied = [n for n, e in enumerate(events) if live.is_forgotten(e.customer_id)]
    try:
        if denied:
            raise CustomerForgottenError([events[n].customer_id for n in denied])
        segments = [live.segment_of(e.customer_id) for e in events]
        recorded = await live.state.record(events, segments, live.now_ms())
    except CustomerForgottenError as exc:
        refused = set(exc.customer_ids)
        positions = [n for n, e in enumerate(events) if e.customer_id in refused]
        fields = [f"events.{n}.customer_id" if len(events) > 1 else "customer_id" for n in positions]
        raise CustomerForgottenError([events[n].customer_id for n in positions], fields) from None
    for e, segment, r in zip(events, segments, recorded, strict=True):
        metrics.count_feedback(e.type, r.source, r.section, segment)
    if store is not None:
        try:
            await experiments.attribute_events(live, store, events, recorded)
        except StoreUnavailableError as exc:  # the events are logged and applied: only the tally is lost
            log.warning("events not counted for the running experiment: %s", exc)
    return recorded


async def record_shown(
    live: LiveContext,
    metrics: Metrics,
    customer_id: str,
    item_ids: list[str],
    source: str,
    section: str,
    now_ms: int | None = None,
    capped: tuple[str, ...] = (),
    recommendation_id: str = "",
) -> None:
    """What the service showed counts as impressions (frequency capping, click-through); of
    `item_ids`, those already `capped` are counted only (see `Impressions`), as the hot path
    records them. Run as a background task after the response: a failure is only logged, never
    the client's problem. Nothing is recorded for a forgotten customer (the Redis script checks
    the deny list too). An answer served by an experiment variant (its `recommendation_id` says
    so) exposes the customer to it."""
    if live.is_forgotten(customer_id):
        return
    segment = live.segment_of(customer_id)
    shown = Impressions(customer_id, tuple(item_ids), source, section, segment, capped)
    try:
        await live.state.record_impressions(shown, live.now_ms() if now_ms is None else now_ms)
    except StoreUnavailableError as exc:
        log.warning("impressions of customer %s not recorded: %s", hash_id(customer_id), exc)
        return
    metrics.count_feedback("impression", source, section, segment, len(item_ids))
    if recommendation_id:
        await experiments.record_exposure(live, experiments.exposure_of(recommendation_id, customer_id, len(item_ids)))


def _validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        raise RequestValidationError(errors) from exc


def _invalid(loc: tuple[str | int, ...], message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": message, "type": kind}])
