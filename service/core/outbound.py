"""The contact policy of outbound channels (e-mail, SMS, push): the one best offer to send now, or
the reason not to send anything and the next time contact is allowed.

The calendar (quiet hours in the customer's local time, their country's rest days and public
holidays, the minimum interval after the previous contact) is `models.rules.contact`. A
marketer's system asks right before sending, so an answer with an offer records the contact
(claimed atomically: two concurrent asks cannot both send); `dry_run` previews without recording.
The offer is the customer's due replenishment reminder when one is due (`service.core.replenishment`),
else their best recommendation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from models.rules.contact import ContactPolicy, contact_block, next_allowed_contact, timezone_for
from service.core import experiments, replenishment
from service.core import recommend as recommendations
from service.core.deny_list import CustomerForgottenError
from service.http.schemas import OutboundOffer
from service.live.overlays import LiveContext
from service.storage.stores import OfferStore

SECTION = "outbound"


@dataclass(frozen=True)
class OutboundDecision:
    """Either an offer to send, or why not and from when on it is worth asking again."""

    offer: OutboundOffer | None
    reason: str | None = None  # holiday | rest_day | quiet_hours | contacted_recently | no_offer | forgotten
    next_at: datetime | None = None


async def decide(
    store: OfferStore, live: LiveContext, policy: ContactPolicy, customer_id: str, now: datetime, dry_run: bool
) -> OutboundDecision:
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    if live.is_forgotten(customer_id):  # asked to be forgotten: never contacted, nothing recorded
        return OutboundDecision(None, "forgotten")
    country = live.personalizer.country(customer_id) if live.personalizer else None
    zone = timezone_for(country, policy.default_timezone)
    local = now.astimezone(zone)
    at_now = dataclasses.replace(live, clock=lambda: now)
    now_ms, interval_ms = at_now.now_ms(), int(policy.min_interval.total_seconds() * 1000)
    snapshot = await live.state.snapshot(customer_id, now_ms)
    last = snapshot.last_contact_ms
    if reason := contact_block(country, now, policy, _moment(last)):
        return OutboundDecision(None, reason, next_allowed_contact(country, now, policy, _moment(last)))
    chosen = await experiments.assignment(at_now, store, customer_id)
    version = chosen.version_or(await recommendations.active_version(store))
    reminder = None
    if not live.erased_from_model(customer_id) and not chosen.popular_only:  # erased rows are never read
        reminder = await replenishment.due_reminder(store, version, customer_id, snapshot, now)
    if reminder is not None:
        item, plan = reminder
        offer = OutboundOffer(
            customer_id=customer_id,
            model_version=version,
            source="personal",
            item=item,
            timezone=zone.key,
            local_time=local.isoformat(timespec="seconds"),
            reason="replenishment due",
            plan=plan,
            recommendation_id=experiments.stamp(chosen, version, SECTION, customer_id),
            variant=chosen.label,
        )
    else:
        answer = await recommendations.recommend_in(
            store, version, customer_id, 1, False, live=at_now, chosen=chosen, surface=SECTION
        )
        reco = answer.recommendation
        if not reco.items:
            return OutboundDecision(None, "no_offer")
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
    if not dry_run:
        try:
            last = await live.state.claim_contact(customer_id, now_ms, interval_ms)
        except CustomerForgottenError:  # forgotten by another worker meanwhile
            return OutboundDecision(None, "forgotten")
        if last is not None:
            return OutboundDecision(
                None, "contacted_recently", next_allowed_contact(country, now, policy, _moment(last))
            )
    return OutboundDecision(offer)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
