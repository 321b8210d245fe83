"""Response shapes of the public API (the OpenAPI schema frontends code against)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from models.contract.events import EventType
from service.http.deps import CUSTOMER_ID_PATTERN, ITEM_ID_PATTERN, MAX_EXCLUDE
from service.http.params import DEFAULT_K, MAX_RECOMMEND_K, MIN_K


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    price: float | None = None
    score: float
    reason: str = Field("", description='why this item: "bought by customers like you", "a best-seller", ...')


RECOMMENDATION_ID_PATTERN = r"^r1[A-Za-z0-9_-]{8,400}$"
RECOMMENDATION_ID = Field(description="names this answer in events (`POST /events`): attribution reads it")
VARIANT = Field(None, description="the experiment variant that served this answer; null outside experiments")


class Recommendation(BaseModel):
    customer_id: str
    model_version: str
    source: Literal["personal", "popular"]
    degraded: bool = False
    items: list[RecommendedItem]
    recommendation_id: str = RECOMMENDATION_ID
    variant: str | None = VARIANT


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    store: str
    store_reachable: bool
    model_version: str | None
    degraded: bool


class ErrorBody(BaseModel):
    error: str
    message: str


MAX_BATCH = 500


class BatchRecommendRequest(BaseModel):
    """Many customers at once (e-mail and CRM jobs), all answered from one model version."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[Annotated[str, Field(pattern=CUSTOMER_ID_PATTERN)]] = Field(min_length=1, max_length=MAX_BATCH)
    k: int = Field(DEFAULT_K, ge=MIN_K, le=MAX_RECOMMEND_K)
    include_purchased: bool = False
    exclude: list[Annotated[str, Field(pattern=ITEM_ID_PATTERN)]] = Field(default_factory=list, max_length=MAX_EXCLUDE)
    category: str | None = Field(None, min_length=1, max_length=64)


class BatchRecommendation(BaseModel):
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    results: list[Recommendation]


class StoreItem(BaseModel):
    item_id: str
    title: str
    price: float | None
    score: float
    reason: str


class StoreSection(BaseModel):
    id: str
    title: str
    reason: str
    items: list[StoreItem]
    recommendation_id: str = Field("", description="names this section's answer in events")


class Loyalty(BaseModel):
    tier: Literal["new", "regular", "loyal", "vip", "at_risk"]
    why: str


class PersonalStore(BaseModel):
    customer_id: str
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    source: Literal["personal", "popular"]
    loyalty: Loyalty
    sections: list[StoreSection]
    variant: str | None = VARIANT


class SimilarItems(BaseModel):
    item_id: str
    title: str
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    items: list[StoreItem]
    recommendation_id: str = RECOMMENDATION_ID


class SegmentSummary(BaseModel):
    id: int
    name: str
    size: int
    description: str


class SegmentList(BaseModel):
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    segments: list[SegmentSummary]


class SegmentDetail(SegmentSummary):
    model_version: str
    degraded: bool = False
    countries: list[dict[str, Any]]
    loyalty: list[dict[str, Any]]
    stats: dict[str, float]
    top_products: list[dict[str, Any]]
    distinctive_products: list[dict[str, Any]]
    top_categories: list[dict[str, Any]]
    sample_customers: list[str]


class SegmentOffer(BaseModel):
    item_id: str
    title: str
    price: float | None
    lift: float = Field(description="share of the segment that bought it / share of all customers")
    score: float = Field(description="lift shrunk toward 1 for items few customers bought (the ranking)")
    segment_share: float
    overall_share: float
    reason: str


class SegmentOffers(BaseModel):
    segment_id: int
    name: str
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    offers: list[SegmentOffer]


# --- Real-time feedback ---

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> datetime:
    """UTC (a time without zone is taken as UTC), and within this century: anything else is a
    client bug, and local-time arithmetic near year 1 or 9999 would overflow."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST.date()}")
    return moment


PlausibleTime = Annotated[datetime, AfterValidator(_plausible)]


class EventIn(BaseModel):
    """One thing a customer did with an item."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(pattern=ID_PATTERN, examples=["13085"])
    item_id: str = Field(pattern=ID_PATTERN, examples=["85123A"])
    type: EventType
    timestamp: PlausibleTime | None = Field(None, description="ISO-8601 or epoch seconds; default now; UTC if no zone")
    quantity: int = Field(1, ge=1, le=1_000_000)
    section: str | None = Field(
        None, pattern=r"^[a-z0-9_]{1,32}$", description="where the item was shown, if the client knows"
    )
    recommendation_id: str | None = Field(
        None,
        pattern=RECOMMENDATION_ID_PATTERN,
        description="the `recommendation_id` of the answer that showed the item: experiments attribute by it",
    )
    price: float | None = Field(None, ge=0, le=10_000_000, description="price paid per unit (default: the catalog's)")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1)


class EventsAccepted(BaseModel):
    accepted: int
    ids: list[str] = Field(description="the events' ids in the durable log, in request order")


class OutboundOffer(BaseModel):
    customer_id: str
    model_version: str
    source: Literal["personal", "popular"]
    item: RecommendedItem
    timezone: str
    local_time: str
    recommendation_id: str = RECOMMENDATION_ID
    variant: str | None = VARIANT


class FeedbackRates(BaseModel):
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    dismissals: int = 0
    returns: int = 0
    complaints: int = 0
    click_through_rate: float | None = None
    conversion_rate: float | None = None


class ItemFeedback(BaseModel):
    item_id: str
    returns: int
    complaints: int


class FeedbackSummary(BaseModel):
    total: FeedbackRates
    by_source: dict[str, FeedbackRates]
    by_section: dict[str, FeedbackRates]
    by_segment: dict[str, FeedbackRates]
    most_complained: list[ItemFeedback]


# --- Privacy and administration ---


class LoggedEventOut(BaseModel):
    """One event as it is stored in the durable log (and in `events.parquet` of a version)."""

    id: str
    customer_id: str
    item_id: str
    type: str
    timestamp: str
    quantity: int
    section: str | None = None


class TrainedPurchase(BaseModel):
    item_id: str
    title: str | None
    occasions: int = Field(description="purchase occasions (distinct invoices) in the training data")
    first_purchase: str
    last_purchase: str


class TrainingData(BaseModel):
    """What the artifact loaded in this process holds about the customer."""

    model_version: str
    known: bool = Field(description="the customer is one of the version's trained customers")
    country: str | None
    purchases: list[TrainedPurchase]
    folded_events: list[LoggedEventOut] = Field(description="feedback events this version was trained on")


class LiveData(BaseModel):
    """The customer's events since training, and the state derived from them."""

    events: list[LoggedEventOut]
    purchases: dict[str, int] = Field(description="item -> purchase events since training")
    suppressed: list[str] = Field(description="items hidden now (dismissed, returned, complained about)")
    negative: list[str] = Field(description="items returned or complained about, newest first")
    impressions: dict[str, int] = Field(description="item -> times shown in the current capping window")
    last_contact: str | None = Field(description="last outbound contact (ISO-8601)")


class CachedDocument(BaseModel):
    model_version: str
    name: str = Field(description="`c:<id>` (ranked candidates) or `store:<id>` (personal-store ingredients)")
    content: Any


class SegmentMembership(BaseModel):
    id: int
    name: str | None
    model_version: str


class ExperimentMembership(BaseModel):
    experiment: str
    variant: str
    exposed_on: str | None = Field(description="UTC day first shown an answer of the variant")
    converted_on: str | None = Field(description="UTC day of the first attributed purchase")
    revenue: float


class CustomerExport(BaseModel):
    """Everything Micro-offers stores about one customer."""

    customer_id: str
    exported_at: str
    forgotten: bool = Field(
        description="on the deny list (DELETE /customers/{id} was called): then nothing "
        "else is exported, because nothing about them is kept or served"
    )
    training: TrainingData | None = Field(
        description="null when this process has no artifact loaded, or the customer was forgotten"
    )
    live: LiveData
    cached: list[CachedDocument]
    segment: SegmentMembership | None
    experiments: list[ExperimentMembership] = Field(
        default_factory=list, description="the experiment variants the customer was counted in"
    )


class ReloadResult(BaseModel):
    previous_version: str | None
    version: str
    changed: bool
