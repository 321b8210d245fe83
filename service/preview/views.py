"""The marketers' preview as view-models: what each segment and customer will be offered, and
why, assembled from the same published documents the API answers from (so the preview cannot
show anything the API would not), plus the artifact this process loaded for purchase histories
and CSV downloads.

Each builder runs on one store (see `service.storage.fallback.Stores.answer`), so a page never mixes
model versions; `degraded` says it came from the in-process fallback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from models.contract.artifact import Artifact
from models.contract.documents import MANIFEST
from models.contract.export import (
    CUSTOMER_COLUMNS,
    SEGMENT_COLUMNS,
    ExportError,
    customer_rows,
    segment_rows,
    storefront_of,
)
from models.contract.purchase_history import purchase_history
from models.contract.spreadsheet_csv import csv_chunks
from models.contract.store_documents import SEGMENTS, segment_doc
from models.rules.business import EMPTY_RULES, RuleSet
from service.core import personal_store, segments
from service.core.recommend import active_version
from service.http.errors import NotFoundError
from service.http.schemas import PersonalStore, SegmentDetail, SegmentOffer, SegmentSummary
from service.live.overlays import LiveContext
from service.preview.figures import FigureTable, Freshness, SegmentFeedback, evaluation_tables, freshness
from service.storage.json_documents import json_document
from service.storage.stores import OfferStore, StoreUnavailableError

COUNT_LABELS = (
    ("customers", "customers"),
    ("matrix_items", "products"),
    ("purchases_out", "purchase lines"),
    ("returns", "returns set aside"),
)
SegmentSort = Literal["id", "name", "size", "orders", "spend", "recency_days"]
OFFERS_SHOWN = 12
STORE_ITEMS = 6
HISTORY_SHOWN = 40


@dataclass
class ModelHeader:
    version: str
    model: str
    counts: list[tuple[str, int]]
    freshness: Freshness
    evaluation: list[FigureTable]  # [] = this version was not evaluated
    store: str


async def model_header(store: OfferStore, version: str, artifact: Artifact | None) -> ModelHeader:
    """The manifest of the version being served; its metrics travel in the manifest document,
    or come from the loaded artifact when that is the same version."""
    manifest = await json_document(store, version, MANIFEST) or {}
    metrics = manifest.get("metrics") or (artifact.metrics if artifact and artifact.version == version else {})
    counts = manifest.get("counts", {})
    return ModelHeader(
        version=version,
        model=str(manifest.get("model", "unknown")),
        counts=[(label, int(counts[key])) for key, label in COUNT_LABELS if key in counts],
        freshness=freshness(manifest),
        evaluation=evaluation_tables(metrics),
        store=store.kind,
    )


@dataclass
class SegmentRow:
    id: int
    name: str
    size: int
    description: str
    orders: float | None  # the segment's median customer
    spend: float | None
    recency_days: float | None
    main_tier: str | None


@dataclass
class Overview:
    header: ModelHeader
    segments: list[SegmentRow]
    sort: str
    descending: bool
    degraded: bool = False


async def overview(store: OfferStore, artifact: Artifact | None, sort: str, descending: bool) -> Overview:
    version = await active_version(store)
    header, listing = await asyncio.gather(
        model_header(store, version, artifact), json_document(store, version, SEGMENTS)
    )
    summaries = (listing or {}).get("segments", [])
    details = await asyncio.gather(*(json_document(store, version, segment_doc(s["id"])) for s in summaries))
    rows = [_segment_row(s, d or {}) for s, d in zip(summaries, details)]
    return Overview(header, sort_segments(rows, sort, descending), sort, descending)


def _segment_row(summary: Mapping[str, Any], detail: Mapping[str, Any]) -> SegmentRow:
    stats, tiers = detail.get("stats", {}), detail.get("loyalty", [])
    return SegmentRow(
        id=summary["id"],
        name=summary["name"],
        size=summary["size"],
        description=summary["description"],
        orders=stats.get("median_orders"),
        spend=stats.get("median_spend"),
        recency_days=stats.get("median_recency_days"),
        main_tier=tiers[0]["name"] if tiers else None,
    )


def sort_segments(rows: list[SegmentRow], sort: str, descending: bool) -> list[SegmentRow]:
    """Sorted by one column; rows missing the figure go last either way."""
    present = [r for r in rows if getattr(r, sort) is not None]
    missing = [r for r in rows if getattr(r, sort) is None]

    def key(row: SegmentRow) -> Any:
        value = getattr(row, sort)
        return value.casefold() if isinstance(value, str) else value

    return sorted(present, key=key, reverse=descending) + missing


@dataclass
class SegmentPage:
    header: ModelHeader
    segment: SegmentDetail
    offers: list[SegmentOffer]
    feedback: SegmentFeedback | None  # None = no events recorded for this segment yet
    degraded: bool = False
    offers_k: int = OFFERS_SHOWN  # the page's CSV link asks for as many, so both count the same


async def segment_page(
    store: OfferStore,
    artifact: Artifact | None,
    segment_id: int,
    feedback: Mapping[int, SegmentFeedback] | None,
    rules: RuleSet = EMPTY_RULES,
) -> SegmentPage:
    version = await active_version(store)
    header, detail, offer = await asyncio.gather(
        model_header(store, version, artifact),
        segments.segment_detail(store, version, segment_id),
        segments.segment_offers(store, version, segment_id, OFFERS_SHOWN, rules),
    )
    figures = (feedback or {}).get(segment_id)
    return SegmentPage(header, detail, offer.offers, figures if figures and figures.impressions else None)


@dataclass(frozen=True)
class HistoryLine:
    item_id: str
    title: str
    price: float | None
    orders: int
    first: date
    last: date
    rhythm: str | None  # "every ~3 weeks" where the buy-again rule lets a rhythm be claimed


@dataclass
class CustomerPage:
    header: ModelHeader
    customer_id: str
    store: PersonalStore  # exactly what GET /personal-store answers
    segment: SegmentSummary | None
    history: list[HistoryLine] | None  # None = no artifact in this process to read it from
    history_total: int
    history_version: str | None
    forgotten: bool = False
    degraded: bool = False
    at: datetime | None = None  # the store as of then (None: now)

    @property
    def known(self) -> bool:
        return self.store.source == "personal"


async def customer_page(
    store: OfferStore,
    artifact: Artifact | None,
    customer_id: str,
    live: LiveContext | None = None,
    at: datetime | None = None,
) -> CustomerPage:
    """The customer's store exactly as `GET /personal-store` answers it now (live state
    included), next to their purchase history; with `at`, as the catalog and business rules
    will have it then (a rule scheduled for next week, previewed). Looking records nothing. A
    forgotten customer's page says so and shows nothing of them."""
    version = await active_version(store)
    forgotten = live is not None and live.is_forgotten(customer_id)
    header, shop, ingredients, catalog = await asyncio.gather(
        model_header(store, version, artifact),
        personal_store.personal_store(store, version, customer_id, STORE_ITEMS, live=live, at=at),
        personal_store.ingredients(store, version, customer_id) if not forgotten else _none(),
        store.catalog(version),
    )
    if forgotten:
        return CustomerPage(header, customer_id, shop, None, [] if artifact else None, 0, None, forgotten=True)
    segment = None
    if ingredients is not None:
        doc = await json_document(store, version, segment_doc(ingredients.segment))
        segment = SegmentSummary(**{k: doc[k] for k in ("id", "name", "size", "description")}) if doc else None
    # No artifact in this process: history unknown (None); a customer it does not know: none ([]).
    erased = live is not None and live.erased_from_model(customer_id)
    purchases = (purchase_history(artifact, customer_id) or [] if not erased else []) if artifact else None
    history = (
        None
        if purchases is None
        else [
            HistoryLine(
                p.item_id,
                catalog[p.item_id].title if p.item_id in catalog else p.item_id,
                catalog[p.item_id].price if p.item_id in catalog else None,
                p.occasions,
                p.first,
                p.last,
                p.rhythm,
            )
            for p in purchases[:HISTORY_SHOWN]
        ]
    )
    return CustomerPage(
        header, customer_id, shop, segment, history, len(purchases or []), artifact.version if artifact else None, at=at
    )


async def _none() -> None:
    return None


def offers_csv(
    artifact: Artifact | None,
    segment_id: int | None,
    k: int,
    day: date,
    forgotten: Collection[str] = frozenset(),
    hidden: Mapping[str, Collection[str]] | None = None,
    rules: RuleSet = EMPTY_RULES,
    at: datetime | None = None,
) -> tuple[Iterator[str], str]:
    """(CSV text chunks, file name): one segment's offer, or every customer's with `segment_id`
    None. The same rows as `microoffers export`; checks run before the first byte is sent.
    Every customer's offer leaves out forgotten customers and, per customer, the items their
    live state rules out (`hidden`: bought since training, dismissed, returned, complained about)."""
    if artifact is None:
        raise StoreUnavailableError("no artifact loaded in this process: start the service with --artifacts")
    try:
        sf = storefront_of(artifact)
    except ExportError as exc:
        raise NotFoundError(str(exc)) from exc
    if segment_id is None:
        rows = customer_rows(artifact, k, day, forgotten, hidden, rules, at)
        return csv_chunks(rows, CUSTOMER_COLUMNS), f"offers-{artifact.version}.csv"
    if not 0 <= segment_id < sf.n_segments:
        raise NotFoundError(f"segment {segment_id} does not exist in model version {artifact.version}")
    rows = segment_rows(artifact, segment_id, k, day, rules, at)
    return csv_chunks(rows, SEGMENT_COLUMNS), f"segment-{segment_id}-offers-{artifact.version}.csv"
