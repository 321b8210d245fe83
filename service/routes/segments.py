from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from service import segments
from service.deps import StoreDep
from service.recommendations import active_version
from service.schemas import ErrorBody, SegmentDetail, SegmentList, SegmentOffers

router = APIRouter(tags=["segments"])

SegmentId = Annotated[int, Path(ge=0, le=100_000, description="segment id from GET /segments")]
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (404, 422, 503)}


@router.get("/segments", response_model=SegmentList, responses={503: {"model": ErrorBody}})
async def list_segments(store: StoreDep) -> SegmentList:
    """The model version's micro-segments, largest first; every customer is in exactly one."""
    return await segments.list_segments(store, await active_version(store))


@router.get("/segments/{segment_id}", response_model=SegmentDetail, responses=ERRORS)
async def segment_detail(segment_id: SegmentId, store: StoreDep) -> SegmentDetail:
    """Who the segment is: countries, loyalty mix, typical RFM and basket, top and distinctive
    products, and a sample of its customers."""
    return await segments.segment_detail(store, await active_version(store), segment_id)


@router.get("/segments/{segment_id}/offers", response_model=SegmentOffers, responses=ERRORS)
async def segment_offers(
    segment_id: SegmentId,
    store: StoreDep,
    k: Annotated[int, Query(ge=1, le=40, description="how many offers")] = 10,
) -> SegmentOffers:
    """The segment's offer: items with the highest lift over all customers that most of the
    segment has not bought yet, each with its lift and reason."""
    return await segments.segment_offers(store, await active_version(store), segment_id, k)
