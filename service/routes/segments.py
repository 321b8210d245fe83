from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query

from service.core import segments
from service.core.recommend import active_version
from service.http.deps import LiveDep, StoresDep
from service.http.schemas import ErrorBody, SegmentDetail, SegmentList, SegmentOffers
from service.storage.stores import OfferStore

router = APIRouter(tags=["segments"])
T = TypeVar("T")

SegmentId = Annotated[int, Path(ge=0, le=100_000, description="segment id from GET /segments")]
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (404, 422, 503)}


@router.get("/segments", response_model=SegmentList, responses={503: {"model": ErrorBody}})
async def list_segments(stores: StoresDep) -> SegmentList:
    """The model version's micro-segments, largest first; every customer is in exactly one."""
    return await stores.answer(lambda store: _on_version(store, segments.list_segments))


@router.get("/segments/{segment_id}", response_model=SegmentDetail, responses=ERRORS)
async def segment_detail(segment_id: SegmentId, stores: StoresDep) -> SegmentDetail:
    """Who the segment is: countries, loyalty mix, typical RFM and basket, top and distinctive
    products, and a sample of its customers."""
    return await stores.answer(lambda store: _on_version(store, segments.segment_detail, segment_id))


@router.get("/segments/{segment_id}/offers", response_model=SegmentOffers, responses=ERRORS)
async def segment_offers(
    segment_id: SegmentId,
    stores: StoresDep,
    live: LiveDep,
    k: Annotated[int, Query(ge=1, le=40, description="how many offers")] = 10,
) -> SegmentOffers:
    """The segment's offer: items with the highest lift over all customers that most of the
    segment has not bought yet, each with its lift and reason; the business rules for the
    segment applied."""
    rules, now = live.rule_set(), live.clock()
    return await stores.answer(lambda store: _on_version(store, segments.segment_offers, segment_id, k, rules, now))


async def _on_version(store: OfferStore, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a segments query on the store's active version (one version per request)."""
    return await func(store, await active_version(store), *args)
