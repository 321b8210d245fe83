"""What the live state changes in an answer, applied to the precomputed candidates at request time.

In order: a customer with purchases the model has not seen gets a re-solved vector (personal
candidates even for a brand-new customer); live-bought items count as bought (they leave
discovery); suppressed items go; items shown too often without a click, and items similar to
ones returned or complained about, move behind the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from models.contract import Offer
from models.ranking import demote, drop_items, mark_bought
from service.live.state import LivePolicy, LiveSnapshot, LiveState
from service.personalize import Personalizer

UNKNOWN_SEGMENT = "unknown"
NEGATIVES_CONSIDERED = 10  # the most recent returns/complaints whose neighbours are pushed down

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LiveContext:
    """The live state and the model factors, as one dependency of the request handlers."""

    state: LiveState
    personalizer: Personalizer | None
    policy: LivePolicy
    similar_pushdown: int
    clock: Clock = system_clock

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def segment_of(self, customer_id: str) -> str:
        return customer_segment(self.personalizer, customer_id)


def customer_segment(personalizer: Personalizer | None, customer_id: str) -> str:
    """The segment label of feedback counters: the customer's micro-segment id (a few dozen at
    most, so Prometheus labels stay bounded; what marketers compare on the preview page),
    `unknown` for customers the model has not met."""
    segment = personalizer.segment(customer_id) if personalizer else None
    return UNKNOWN_SEGMENT if segment is None else str(segment)


def apply_live(
    offers: list[Offer], source: str, snapshot: LiveSnapshot, ctx: LiveContext, customer_id: str, now_ms: int
) -> tuple[list[Offer], str]:
    if snapshot == LiveSnapshot():
        return offers, source
    model = ctx.personalizer
    if model is not None:
        fresh = snapshot.purchases_after(model.horizon_ms)
        if fresh:
            personal = model.personal_offers(customer_id, fresh, snapshot.negative)
            if personal is not None:
                offers, source = personal, "personal"
    ranked = drop_items(mark_bought(offers, snapshot.purchases), snapshot.suppressed)
    demoted = set(snapshot.capped(ctx.policy, now_ms))
    if model is not None and snapshot.negative:
        demoted |= model.similar_items(snapshot.negative[:NEGATIVES_CONSIDERED], ctx.similar_pushdown)
    return demote(ranked, demoted), source
