"""Campaigns: an audience (a micro-segment or a saved customer list) × an offer (one item, or each
customer's best offer) × a channel × a schedule, and the plan of who would get what and when.

The plan follows every promise the API makes: forgotten customers are never in it, an item the
catalog rules refuse on the day of sending is never offered (nor one the customer's live state
hides: returned, complained about, dismissed), "best offer" is exactly what `/outbound` would
send (the customer's `/recommend` top item), and every send time honours the contact policy
(see `allowed_contact_time`). Planning records nothing: no impression, no contact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.exceptions import RequestValidationError

from models.contract.artifact import Artifact
from models.rules.catalog import EXTRAS
from models.rules.contact import ContactPolicy, next_allowed_contact, timezone_for
from service.core import recommend as recommendations
from service.core.recommend import active_version
from service.http.errors import NotFoundError
from service.http.schemas import CampaignIn, CampaignOut
from service.live.overlays import LiveContext
from service.storage.campaign_book import CampaignBook
from service.storage.stores import OfferStore, StoreUnavailableError

AUDIENCE_COLUMNS = ["campaign_id", "customer_id", "segment_id"]
OFFER_COLUMNS = [
    "campaign_id",
    "customer_id",
    "segment_id",
    "channel",
    "item_id",
    "title",
    "price",
    "send_at_utc",
    "send_at_local",
    "timezone",
    *EXTRAS,  # the catalog's image_url, url and currency, empty where it has none
]
CONCURRENT_READS = 16  # customers read at once: well inside the Redis pool, beside live traffic
LOOKAHEAD_DAYS = 366  # a schedule's first send is looked for this far ahead at most


def allowed_contact_time(
    country: str | None, now_utc: datetime, policy: ContactPolicy, last_contact_utc: datetime | None
) -> datetime:
    """The earliest moment at or after `now_utc` the contact policy allows contacting a customer
    of `country` last contacted at `last_contact_utc`: the one calendar `/outbound` applies too
    (quiet hours, the minimum interval, the country's rest days and public holidays)."""
    return next_allowed_contact(country, now_utc, policy, last_contact_utc)


def invalid(field: str, message: str) -> RequestValidationError:
    """A 422 naming the field, in the API's error shape (the preview's form shows the same)."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


async def create(
    book: CampaignBook, store: OfferStore, artifact: Artifact | None, wanted: CampaignIn, user: str, now: datetime
) -> CampaignOut:
    """Check `wanted` against the model being served, then keep it. Every refusal names its field."""
    if (wanted.segment_id is None) == (wanted.customer_ids is None):
        raise invalid("segment_id", "give exactly one of segment_id (a segment) or customer_ids (a customer list)")
    if wanted.end is not None and wanted.end < wanted.start:
        raise invalid("end", f"ends ({wanted.end}) before it starts ({wanted.start})")
    version = await active_version(store)
    if wanted.segment_id is not None:
        sf = artifact.storefront if artifact is not None else None
        if sf is None:
            raise StoreUnavailableError("no artifact with segments loaded in this process: start with --artifacts")
        if wanted.segment_id >= sf.n_segments:
            raise invalid("segment_id", f"segment {wanted.segment_id} does not exist: GET /segments lists them")
    if wanted.item_id is not None and wanted.item_id not in await store.catalog(version):
        raise invalid("item_id", f"item {wanted.item_id} is not in the catalog of model version {version}")
    customers = list(dict.fromkeys(wanted.customer_ids)) if wanted.customer_ids is not None else None
    campaign = CampaignOut(
        **{**wanted.model_dump(), "customer_ids": customers},
        id=f"c{secrets.token_hex(6)}",
        created_by=user,
        created_at=now.astimezone(UTC).replace(microsecond=0),
    )
    await book.add(campaign)
    return campaign


async def find(book: CampaignBook, campaign_id: str) -> CampaignOut:
    campaign = await book.get(campaign_id)
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id} does not exist: GET /campaigns lists them")
    return campaign


@dataclass(frozen=True)
class Delivery:
    """One customer's message: what, when (UTC and their local time), and through which channel."""

    customer_id: str
    segment_id: int | None
    item_id: str
    title: str
    price: float | None
    send_at: datetime  # UTC
    local: datetime  # the same moment on the customer's clock
    held_back: bool  # the contact policy moved it later than the schedule asked
    extras: dict[str, str]  # the catalog's image_url, url, currency where it has them


@dataclass(frozen=True)
class Plan:
    campaign: CampaignOut
    model_version: str
    audience: list[tuple[str, int | None]]  # (customer, segment), forgotten customers left out
    deliveries: list[Delivery]
    without_offer: int  # no deliverable offer on their day
    after_end: int  # the contact policy allows no moment before the campaign ends


async def plan(
    campaign: CampaignOut, store: OfferStore, artifact: Artifact | None, live: LiveContext, policy: ContactPolicy
) -> Plan:
    version = await active_version(store)
    audience = _audience(campaign, artifact, live)
    now = live.clock().astimezone(UTC)
    at_now = dataclasses.replace(live, clock=lambda: now)  # one moment for the whole plan
    catalog = await store.catalog(version)
    gate = asyncio.Semaphore(CONCURRENT_READS)

    async def one(customer_id: str, segment_id: int | None) -> Delivery | str:
        async with gate:
            return await _delivery(campaign, store, catalog, at_now, policy, customer_id, segment_id, now)

    outcomes = await asyncio.gather(*(one(c, s) for c, s in audience))
    deliveries = [o for o in outcomes if isinstance(o, Delivery)]
    deliveries.sort(key=lambda d: (d.send_at, d.customer_id))
    return Plan(
        campaign,
        version,
        audience,
        deliveries,
        sum(o == "no_offer" for o in outcomes),
        sum(o == "after_end" for o in outcomes),
    )


def _audience(campaign: CampaignOut, artifact: Artifact | None, live: LiveContext) -> list[tuple[str, int | None]]:
    """The campaign's customers with their segment; forgotten ones never (also those the served
    model erased and who were restored since: it keeps nothing of them)."""
    if campaign.customer_ids is not None:
        members = [(c, live.personalizer.segment(c) if live.personalizer else None) for c in campaign.customer_ids]
    else:
        sf = artifact.storefront if artifact is not None else None
        if artifact is None or sf is None:
            raise StoreUnavailableError("no artifact with segments loaded in this process: start with --artifacts")
        ids = artifact.customers.ids.tolist()
        members = [(str(ids[row]), campaign.segment_id) for row in (sf.segment_of == campaign.segment_id).nonzero()[0]]
    return [(c, s) for c, s in members if not (live.is_forgotten(c) or live.erased_from_model(c))]


def first_slot(campaign: CampaignOut, zone_now: datetime) -> datetime | None:
    """The first scheduled send on the customer's clock at or after `zone_now` (their local
    now): the send time on the start day, or on the next day whose send time is still ahead;
    None if the schedule has ended."""
    day = max(campaign.start, zone_now.date())
    for _ in range(LOOKAHEAD_DAYS):
        if campaign.end is not None and day > campaign.end:
            return None
        slot = datetime.combine(day, campaign.send_at, tzinfo=zone_now.tzinfo)
        if slot >= zone_now:
            return slot
        day += timedelta(days=1)
    return None


async def _delivery(
    campaign: CampaignOut,
    store: OfferStore,
    catalog: dict[str, Any],
    live: LiveContext,
    policy: ContactPolicy,
    customer_id: str,
    segment_id: int | None,
    now: datetime,
) -> Delivery | str:
    country = live.personalizer.country(customer_id) if live.personalizer else None
    zone = timezone_for(country, policy.default_timezone)
    slot = first_slot(campaign, now.astimezone(zone))
    if slot is None:
        return "after_end"
    snapshot = await live.state.snapshot(customer_id, live.now_ms())
    last = datetime.fromtimestamp(snapshot.last_contact_ms / 1000, UTC) if snapshot.last_contact_ms else None
    send_at = allowed_contact_time(country, slot.astimezone(UTC), policy, last)
    local = send_at.astimezone(zone)
    if campaign.end is not None and local.date() > campaign.end:
        return "after_end"
    if campaign.item_id is None:
        reco = (await recommendations.recommend(store, customer_id, 1, False, live=live)).recommendation
        if not reco.items:
            return "no_offer"
        best = reco.items[0]
        item_id, title, price = best.item_id, best.title, best.price
        extras = {k: v for k in EXTRAS if (v := getattr(best, k)) is not None}
    else:
        entry = catalog.get(campaign.item_id)
        if entry is None or not entry.offerable(local.date()) or campaign.item_id in snapshot.suppressed:
            return "no_offer"
        item_id, title, price, extras = entry.item_id, entry.title, entry.price, entry.extras()
    return Delivery(customer_id, segment_id, item_id, title, price, send_at, local, send_at != slot, extras)


def audience_rows(p: Plan) -> Iterator[dict[str, Any]]:
    for customer_id, segment_id in p.audience:
        yield {"campaign_id": p.campaign.id, "customer_id": customer_id, "segment_id": segment_id}


def offer_rows(p: Plan) -> Iterator[dict[str, Any]]:
    for d in p.deliveries:
        yield {
            "campaign_id": p.campaign.id,
            "customer_id": d.customer_id,
            "segment_id": d.segment_id,
            "channel": p.campaign.channel,
            "item_id": d.item_id,
            "title": d.title,
            "price": d.price,
            "send_at_utc": d.send_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "send_at_local": d.local.strftime("%Y-%m-%d %H:%M"),
            "timezone": str(d.local.tzinfo),
            **d.extras,
        }
