"""Segment offers as CSV rows for CRM and e-mail tools: one segment's offer, or every customer's
offer (their segment's, minus what they already bought); written in the one spreadsheet-safe
dialect of `models.contract.spreadsheet_csv`.

Read from an artifact, not from Redis, so a marketing export never loads the serving path. The
catalog rules apply as on the API, on the export day (`as_of`, default today): unavailable and
not-yet-available items are skipped and the next offer takes their place. The business rules
(`models.rules.business`) apply as on `/segments/{id}/offers`, per segment, at `at` (default the
start of the export day, UTC).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from models.contract.artifact import Artifact
from models.contract.storefront import Storefront
from models.rules.business import EMPTY_RULES, ListRules, RuleSet, apply
from models.rules.catalog import Catalog, catalog_from_frame
from models.rules.wording import offer_figures, segment_offer_reason

SEGMENT_COLUMNS = [
    "segment_id",
    "segment_name",
    "rank",
    "item_id",
    "title",
    "price",
    "lift",
    "segment_share",
    "overall_share",
    "reason",
]
CUSTOMER_COLUMNS = ["customer_id", "segment_id", "segment_name", "rank", "item_id", "title", "price", "lift", "reason"]


class ExportError(ValueError):
    """The export cannot be made as asked (message names the remedy)."""


def storefront_of(artifact: Artifact) -> Storefront:
    if artifact.storefront is None:
        raise ExportError(f"artifact {artifact.version} has no segments: retrain it with this release")
    return artifact.storefront


def segment_rows(
    artifact: Artifact,
    segment_id: int,
    k: int,
    as_of: date,
    rules: RuleSet = EMPTY_RULES,
    at: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    sf = storefront_of(artifact)
    if not 0 <= segment_id < sf.n_segments:
        raise ExportError(f"segment {segment_id} does not exist: this artifact has segments 0..{sf.n_segments - 1}")
    catalog = catalog_from_frame(artifact.catalog)
    name = sf.segments[segment_id]["name"]
    offers = _offers_by_segment(artifact, sf).get(segment_id, {})
    active = rules.for_list(segment_id, at or _start_of(as_of))
    for rank, (item_id, offer) in enumerate(_offerable(offers, catalog, as_of, k, set(), active), start=1):
        yield {"segment_id": segment_id, "segment_name": name, "rank": rank, **_item(catalog, item_id, offer)}


def customer_rows(
    artifact: Artifact,
    k: int,
    as_of: date,
    forgotten: Collection[str] = frozenset(),
    hidden: Mapping[str, Collection[str]] | None = None,
    rules: RuleSet = EMPTY_RULES,
    at: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Every customer's top-k of their segment's offer that they have not bought; customers on
    the deny list (forgotten since the artifact was trained) are left out, and so are, per
    customer, the items in `hidden` (what their live state rules out since training: bought,
    dismissed, returned, complained about), as on the API."""
    hidden = hidden or {}
    sf = storefront_of(artifact)
    catalog = catalog_from_frame(artifact.catalog)
    by_segment = _offers_by_segment(artifact, sf)
    moment = at or _start_of(as_of)
    active = {s: rules.for_list(s, moment) for s in range(sf.n_segments)}
    h = artifact.history
    for row, customer_id in enumerate(artifact.customers.ids.tolist()):
        if customer_id in forgotten:
            continue
        segment = int(sf.segment_of[row])
        bought = {str(artifact.items.ids[i]) for i in h.indices[h.indptr[row] : h.indptr[row + 1]]}
        bought.update(hidden.get(customer_id, ()))
        offers = _offerable(by_segment.get(segment, {}), catalog, as_of, k, bought, active[segment])
        for rank, (item_id, offer) in enumerate(offers, start=1):
            yield {
                "customer_id": customer_id,
                "segment_id": segment,
                "segment_name": sf.segments[segment]["name"],
                "rank": rank,
                **_item(catalog, item_id, offer),
            }


def _offerable(
    offers: dict[str, Any],
    catalog: Catalog,
    as_of: date,
    k: int,
    bought: set[str],
    rules: ListRules,
) -> list[tuple[str, Any]]:
    """The first `k` offers deliverable on `as_of` that the customer has not bought, after the
    business rules (which only reorder and drop here: an offer row needs the segment's figures)."""

    def allowed(item_id: str) -> bool:
        entry = catalog.get(item_id)
        return entry is not None and entry.offerable(as_of) and item_id not in bought

    def category_of(item_id: str) -> str | None:
        entry = catalog.get(item_id)
        return entry.category if entry else None

    return [(i, offers[i]) for i in apply(list(offers), k, allowed, category_of, rules)]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _offers_by_segment(artifact: Artifact, sf: Storefront) -> dict[int, dict[str, Any]]:
    """Each segment's offer rows by item id, best first."""
    ids = artifact.items.ids
    return {
        int(s): {str(ids[o.item_row]): o for o in g.sort_values("rank").itertuples()}
        for s, g in sf.offers.groupby("segment")
    }


def _item(catalog: Catalog, item_id: str, offer: Any) -> dict[str, Any]:
    """The item's columns; the shares are left out of the customer CSV by its columns."""
    entry = catalog[item_id]
    lift, share, overall = offer_figures(offer.lift, offer.segment_share, offer.overall_share)
    return {
        "item_id": item_id,
        "title": entry.title,
        "price": entry.price,
        "lift": lift,
        "segment_share": share,
        "overall_share": overall,
        "reason": segment_offer_reason(lift, share, overall),
    }
