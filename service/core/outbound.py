"""The contact policy of outbound channels (e-mail, SMS, push): the one best offer to send now, or
the reason not to send anything.

No message during the customer's quiet hours (their country's local time), and none sooner
than the minimum interval after the previous one. A marketer's system asks right before
sending, so an answer with an offer records the contact (claimed atomically: two concurrent
asks cannot both send); `dry_run` previews without recording.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.core import recommend as recommendations
from service.core.deny_list import CustomerForgottenError
from service.http.schemas import OutboundOffer
from service.live.overlays import LiveContext
from service.settings import Settings
from service.storage.stores import OfferStore

SECTION = "outbound"

# Countries of the Online Retail data (and common spellings) -> a representative time zone.
COUNTRY_TIMEZONES: dict[str, str] = {
    "United Kingdom": "Europe/London",
    "UK": "Europe/London",
    "EIRE": "Europe/Dublin",
    "Ireland": "Europe/Dublin",
    "Channel Islands": "Europe/Jersey",
    "France": "Europe/Paris",
    "Germany": "Europe/Berlin",
    "Netherlands": "Europe/Amsterdam",
    "Belgium": "Europe/Brussels",
    "European Community": "Europe/Brussels",
    "Spain": "Europe/Madrid",
    "Portugal": "Europe/Lisbon",
    "Switzerland": "Europe/Zurich",
    "Italy": "Europe/Rome",
    "Austria": "Europe/Vienna",
    "Sweden": "Europe/Stockholm",
    "Norway": "Europe/Oslo",
    "Denmark": "Europe/Copenhagen",
    "Finland": "Europe/Helsinki",
    "Iceland": "Atlantic/Reykjavik",
    "Poland": "Europe/Warsaw",
    "Czech Republic": "Europe/Prague",
    "Lithuania": "Europe/Vilnius",
    "Greece": "Europe/Athens",
    "Cyprus": "Asia/Nicosia",
    "Malta": "Europe/Malta",
    "Israel": "Asia/Jerusalem",
    "Lebanon": "Asia/Beirut",
    "Bahrain": "Asia/Bahrain",
    "Saudi Arabia": "Asia/Riyadh",
    "United Arab Emirates": "Asia/Dubai",
    "RSA": "Africa/Johannesburg",
    "South Africa": "Africa/Johannesburg",
    "Nigeria": "Africa/Lagos",
    "USA": "America/New_York",
    "United States": "America/New_York",
    "Canada": "America/Toronto",
    "Brazil": "America/Sao_Paulo",
    "West Indies": "America/Barbados",
    "Bermuda": "Atlantic/Bermuda",
    "Japan": "Asia/Tokyo",
    "Korea": "Asia/Seoul",
    "Hong Kong": "Asia/Hong_Kong",
    "Singapore": "Asia/Singapore",
    "Thailand": "Asia/Bangkok",
    "Australia": "Australia/Sydney",
}


@dataclass(frozen=True)
class ContactPolicy:
    quiet_start: time
    quiet_end: time
    min_interval: timedelta
    default_timezone: str

    @classmethod
    def from_settings(cls, s: Settings) -> ContactPolicy:
        return cls(
            s.quiet_hours_start, s.quiet_hours_end, timedelta(seconds=s.min_contact_interval_s), s.default_timezone
        )


@dataclass(frozen=True)
class OutboundDecision:
    """Either an offer to send, or why not and from when on it is worth asking again."""

    offer: OutboundOffer | None
    reason: str | None = None  # quiet_hours | contacted_recently | no_offer | forgotten
    next_at: datetime | None = None


def timezone_for(country: str | None, default: str) -> ZoneInfo:
    return ZoneInfo(COUNTRY_TIMEZONES.get(country or "", default))


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Quiet from `start` until `end`, across midnight when start > end; start == end: never."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_over(local: datetime, end: time) -> datetime:
    """The next moment (in UTC) the local clock shows `end`."""
    candidate = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=local.tzinfo)
    return candidate.astimezone(UTC)


async def decide(
    store: OfferStore, live: LiveContext, policy: ContactPolicy, customer_id: str, now: datetime, dry_run: bool
) -> OutboundDecision:
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    if live.is_forgotten(customer_id):  # asked to be forgotten: never contacted, nothing recorded
        return OutboundDecision(None, "forgotten")
    country = live.personalizer.country(customer_id) if live.personalizer else None
    zone = timezone_for(country, policy.default_timezone)
    local = now.astimezone(zone)
    if in_quiet_hours(local.time(), policy.quiet_start, policy.quiet_end):
        return OutboundDecision(None, "quiet_hours", quiet_hours_over(local, policy.quiet_end))
    at_now = dataclasses.replace(live, clock=lambda: now)
    now_ms, interval_ms = at_now.now_ms(), int(policy.min_interval.total_seconds() * 1000)
    last = (await live.state.snapshot(customer_id, now_ms)).last_contact_ms
    if last is not None and now_ms - last < interval_ms:
        return _too_recent(last, interval_ms)
    reco = (await recommendations.recommend(store, customer_id, 1, False, live=at_now, surface=SECTION)).recommendation
    if not reco.items:
        return OutboundDecision(None, "no_offer")
    if not dry_run:
        try:
            last = await live.state.claim_contact(customer_id, now_ms, interval_ms)
        except CustomerForgottenError:  # forgotten by another worker meanwhile
            return OutboundDecision(None, "forgotten")
        if last is not None:
            return _too_recent(last, interval_ms)
    offer = OutboundOffer(
        customer_id=customer_id,
        model_version=reco.model_version,
        source=reco.source,
        item=reco.items[0],
        timezone=zone.key,
        local_time=local.isoformat(timespec="seconds"),
        recommendation_id=reco.recommendation_id,
        variant=reco.variant,
    )
    return OutboundDecision(offer)


def _too_recent(last_ms: int, interval_ms: int) -> OutboundDecision:
    return OutboundDecision(None, "contacted_recently", datetime.fromtimestamp((last_ms + interval_ms) / 1000, UTC))
