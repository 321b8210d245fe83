"""Response shapes of the public API (the OpenAPI schema frontends code against)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from models.events import EventType


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    score: float


class Recommendation(BaseModel):
    customer_id: str
    model_version: str
    source: Literal["personal", "popular"]
    degraded: bool = False
    items: list[RecommendedItem]


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
