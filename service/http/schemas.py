"""Response shapes of the public API (the OpenAPI schema frontends code against)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    model_serializer,
)

from models.contract.events import EventType
from models.rules.catalog import EXTRAS
from service.http.deps import CUSTOMER_ID_PATTERN, ITEM_ID_PATTERN, MAX_EXCLUDE
from service.http.params import DEFAULT_K, MAX_RECOMMEND_K, MIN_K


def _omit_unset_extras(self: BaseModel, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
    """Catalog extras appear only when the catalog has them: answers for a catalog without
    them are exactly what they always were (the hot path renders them the same way). No return
    annotation on purpose: with one, pydantic would document the model as a bare object."""
    data: dict[str, Any] = handler(self)
    for name in EXTRAS:
        if data.get(name) is None:
            data.pop(name, None)
    return data


ImageUrl = Annotated[str | None, Field(description="the catalog's product image, when it has one")]
ProductUrl = Annotated[str | None, Field(description="the product's page in the shop, when the catalog has one")]
Currency = Annotated[str | None, Field(description="ISO 4217 code of `price`, when the catalog gives one")]


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    price: float | None = None
    score: float
    reason: str = Field("", description='why this item: "bought by customers like you", "a best-seller", ...')
    image_url: ImageUrl = None
    url: ProductUrl = None
    currency: Currency = None
    _extras = model_serializer(mode="wrap")(_omit_unset_extras)


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


def _json_number(value: object) -> object:
    """A count given as a JSON number (66 or 66.0, as JSON Schema's integer allows), never `true`
    or "66", which pydantic's lax mode would read as 1 and 66."""
    if isinstance(value, bool | str):
        raise ValueError("should be a JSON number")
    return value


class BatchRecommendRequest(BaseModel):
    """Many customers at once (e-mail and CRM jobs), all answered from one model version."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[Annotated[str, Field(pattern=CUSTOMER_ID_PATTERN)]] = Field(min_length=1, max_length=MAX_BATCH)
    k: Annotated[int, BeforeValidator(_json_number)] = Field(DEFAULT_K, ge=MIN_K, le=MAX_RECOMMEND_K)
    include_purchased: bool = False
    exclude: list[Annotated[str, Field(pattern=ITEM_ID_PATTERN)]] = Field(default_factory=list, max_length=MAX_EXCLUDE)
    category: str | None = Field(None, min_length=1, max_length=64)


class BatchRecommendation(BaseModel):
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    results: list[Recommendation]


class ReplenishmentPlan(BaseModel):
    """A steady reorder rhythm offered as a plan (`models.rules.replenishment.Plan`)."""

    every_days: float = Field(description="the customer's mean days between purchase occasions of the item")
    next_on: str = Field(description="ISO date of the next reorder: the latest purchase + the rhythm")
    status: Literal["offered", "subscribed", "unsubscribed"] = Field(
        description="subscribed / unsubscribed by the customer's latest subscribe or unsubscribe event"
    )
    text: str = Field(examples=["every ~3 weeks, next on 12 Dec"])


class StoreItem(BaseModel):
    item_id: str
    title: str
    price: float | None
    score: float
    reason: str
    plan: ReplenishmentPlan | None = Field(None, description="buy_again items with a steady rhythm")
    image_url: ImageUrl = None
    url: ProductUrl = None
    currency: Currency = None
    _extras = model_serializer(mode="wrap")(_omit_unset_extras)


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
    image_url: ImageUrl = None
    url: ProductUrl = None
    currency: Currency = None
    _extras = model_serializer(mode="wrap")(_omit_unset_extras)


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
    reason: Literal["best offer", "replenishment due"] = "best offer"
    plan: ReplenishmentPlan | None = Field(None, description="the plan reminded of, when replenishment is due")
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
    plans: dict[str, str] = Field(
        default_factory=dict, description="item -> replenishment plan subscribed or unsubscribed"
    )


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


# --- Campaigns ---

CAMPAIGN_ID_PATTERN = r"^c[0-9a-f]{12}$"
MAX_CAMPAIGN_CUSTOMERS = 10_000


def _campaign_day(day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST.date()}")
    return day


CampaignDay = Annotated[date, AfterValidator(_campaign_day)]


class CampaignIn(BaseModel):
    """A campaign to plan: a segment or a saved customer list, one item or each customer's best
    offer, a channel and a schedule (send time is the customer's local time)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, examples=["Spring mugs"])
    segment_id: Annotated[int, Strict()] | None = Field(
        None, ge=0, le=100_000, description="the audience: one micro-segment, or ..."
    )
    customer_ids: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = Field(
        None, min_length=1, max_length=MAX_CAMPAIGN_CUSTOMERS, description="... a saved customer list"
    )
    item_id: str | None = Field(None, pattern=ID_PATTERN, description="the offer; unset = each customer's best offer")
    channel: Literal["email", "sms", "push"]
    start: CampaignDay = Field(description="first day (customer's local date)")
    end: CampaignDay | None = Field(None, description="last day, inclusive; unset = open-ended")
    send_time: str = Field(
        "10:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="customer's local time of day to send, HH:MM"
    )

    @property
    def send_at(self) -> time:
        return time.fromisoformat(self.send_time)


class CampaignOut(CampaignIn):
    id: str
    created_by: str
    created_at: datetime


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]
