"""The domain core behind `/segments`: the version's micro-segments, one segment's details, and
its offer with the catalog rules applied per request (unavailable items are skipped and the
next-best lift takes their place)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models.contract.store_documents import SEGMENTS, segment_doc, segment_offers_doc
from models.rules.business import EMPTY_RULES, RuleSet
from models.rules.wording import segment_offer_reason
from service.core.filters import ItemFilter
from service.http.errors import NotFoundError
from service.http.schemas import SegmentDetail, SegmentList, SegmentOffer, SegmentOffers
from service.storage.json_documents import json_document
from service.storage.stores import OfferStore, StoreUnavailableError


async def list_segments(store: OfferStore, version: str) -> SegmentList:
    doc = await json_document(store, version, SEGMENTS)
    if doc is None:
        raise StoreUnavailableError(f"model version {version} has no segments: retrain to get them")
    return SegmentList(model_version=version, **doc)


async def segment_detail(store: OfferStore, version: str, segment_id: int) -> SegmentDetail:
    return SegmentDetail(model_version=version, **await _segment(store, version, segment_id))


async def segment_offers(
    store: OfferStore,
    version: str,
    segment_id: int,
    k: int,
    business: RuleSet = EMPTY_RULES,
    now: datetime | None = None,
) -> SegmentOffers:
    """The business rules for this segment apply at `now` (pins only reorder here: an offer
    row needs the segment's figures, as in the CSV exports)."""
    segment = await _segment(store, version, segment_id)
    doc = await json_document(store, version, segment_offers_doc(segment_id))
    active = business.for_list(segment_id, now or datetime.now(UTC))
    rules = ItemFilter.of(await store.catalog(version), business=active)
    rows: dict[str, list[Any]] = {}
    for row in (doc or {}).get("items", []):
        rows.setdefault(row[0], row)
    offers = [
        SegmentOffer(
            item_id=item_id,
            title=rules.title(item_id),
            price=rules.price(item_id),
            lift=lift,
            score=score,
            segment_share=share,
            overall_share=overall,
            reason=segment_offer_reason(lift, share, overall),
            **rules.extras(item_id),
        )
        for item_id, lift, score, share, overall in (rows[i] for i in rules.pick(list(rows), k))
    ]
    return SegmentOffers(segment_id=segment_id, name=segment["name"], model_version=version, offers=offers)


async def _segment(store: OfferStore, version: str, segment_id: int) -> dict[str, Any]:
    doc = await json_document(store, version, segment_doc(segment_id))
    if doc is None:
        raise NotFoundError(f"segment {segment_id} does not exist in model version {version}: GET /segments lists them")
    return doc
