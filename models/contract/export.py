"""Segment offers as CSV rows for CRM and e-mail tools: one segment's offer, or every customer's
offer (their segment's, minus what they already bought); written in the one spreadsheet-safe
dialect of `models.contract.spreadsheet_csv`.

Read from an artifact, not from Redis, so a marketing export never loads the serving path. The
catalog rules apply as on the API, on the export day (`as_of`, default today): unavailable and
not-yet-available items are skipped and the next offer takes their place.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import date
from typing import Any

import pandas as pd

from models.contract.artifact import Artifact
from models.contract.storefront import Storefront
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


def segment_rows(artifact: Artifact, segment_id: int, k: int, as_of: date) -> Iterator[dict[str, Any]]:
    sf = storefront_of(artifact)
    if not 0 <= segment_id < sf.n_segments:
        raise ExportError(f"segment {segment_id} does not exist: this artifact has segments 0..{sf.n_segments - 1}")
    catalog = catalog_from_frame(artifact.catalog)
    name = sf.segments[segment_id]["name"]
    offers = _offers_by_segment(sf).get(segment_id, sf.offers.iloc[:0])
    for rank, (item_id, offer) in enumerate(_offerable(artifact, offers, catalog, as_of, k, set()), start=1):
        yield {"segment_id": segment_id, "segment_name": name, "rank": rank, **_item(catalog, item_id, offer)}


def customer_rows(
    artifact: Artifact,
    k: int,
    as_of: date,
    forgotten: Collection[str] = frozenset(),
    hidden: Mapping[str, Collection[str]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every customer's top-k of their segment's offer that they have not bought; customers on
    the deny list (forgotten since the artifact was trained) are left out, and so are, per
    customer, the items in `hidden` (what their live state rules out since training: bought,
    dismissed, returned, complained about), as on the API."""
    hidden = hidden or {}
    sf = storefront_of(artifact)
    catalog = catalog_from_frame(artifact.catalog)
    by_segment = _offers_by_segment(sf)
    h = artifact.history
    for row, customer_id in enumerate(artifact.customers.ids.tolist()):
        if customer_id in forgotten:
            continue
        segment = int(sf.segment_of[row])
        bought = {str(artifact.items.ids[i]) for i in h.indices[h.indptr[row] : h.indptr[row + 1]]}
        bought.update(hidden.get(customer_id, ()))
        offers = _offerable(artifact, by_segment.get(segment, sf.offers.iloc[:0]), catalog, as_of, k, bought)
        for rank, (item_id, offer) in enumerate(offers, start=1):
            yield {
                "customer_id": customer_id,
                "segment_id": segment,
                "segment_name": sf.segments[segment]["name"],
                "rank": rank,
                **_item(catalog, item_id, offer),
            }


def _offerable(
    artifact: Artifact, offers: pd.DataFrame, catalog: Catalog, as_of: date, k: int, bought: set[str]
) -> list[tuple[str, Any]]:
    """The first `k` offers deliverable on `as_of` that the customer has not bought."""
    out = []
    for offer in offers.itertuples():
        item_id = str(artifact.items.ids[offer.item_row])
        entry = catalog.get(item_id)
        if entry is not None and entry.offerable(as_of) and item_id not in bought:
            out.append((item_id, offer))
            if len(out) == k:
                break
    return out


def _offers_by_segment(sf: Storefront) -> dict[int, pd.DataFrame]:
    return {int(s): g.sort_values("rank") for s, g in sf.offers.groupby("segment")}


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
