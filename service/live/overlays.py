"""What the live state changes in an answer, applied to the precomputed candidates at request time.

In order: a customer with purchases the model has not seen gets a re-solved vector (personal
candidates even for a brand-new customer); live-bought items count as bought (they leave
discovery); suppressed items go; items shown too often without a click, and items similar to
ones returned or complained about, move behind the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from models.contract import Offer
from models.rules.business import EMPTY_RULES, RuleSet
from models.rules.ranking import demote, drop_items, mark_bought
from service.core.business_rules import RuleBook
from service.core.personalize import Personalizer
from service.live.state import LivePolicy, LiveSnapshot, LiveState
from service.storage.experiments import ExperimentStore

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
    # the deny list as it stands (`service.core.deny_list.DenyList.ids`, shared, so it sees later
    # erasures and restores): a forgotten customer is read as unknown and nothing about them is written
    forgotten: Collection[str] = field(default_factory=frozenset)
    experiments: ExperimentStore | None = None  # the running experiment and its tallies (service.core.experiments)
    # the business rules as they stand (`RuleBook.current`, kept fresh by the book): every answer
    # made with this context applies them, at `clock()`'s moment
    rules: RuleBook | None = None

    def is_forgotten(self, customer_id: str) -> bool:
        return customer_id in self.forgotten

    def erased_from_model(self, customer_id: str) -> bool:
        """Forgotten at some time while this model was served (maybe restored since): what the
        loaded artifact holds of them is never read again (see `Personalizer.forget`)."""
        return self.personalizer is not None and customer_id in self.personalizer.forgotten

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def rule_set(self) -> RuleSet:
        return self.rules.current if self.rules is not None else EMPTY_RULES

    def segment_of(self, customer_id: str) -> str:
        return customer_segment(self.personalizer, customer_id)


def customer_segment(personalizer: Personalizer | None, customer_id: str) -> str:
    """The segment label of feedback counters: the customer's micro-segment id (a few dozen at
    most, so Prometheus labels stay bounded; what marketers compare on the preview page),
    `unknown` for customers the model has not met."""
    segment = personalizer.segment(customer_id) if personalizer else None
    return UNKNOWN_SEGMENT if segment is None else str(segment)


@dataclass(frozen=True)
class LiveEffect:
    """What a customer's live state does to one answer: the candidates (re-solved, bought items
    marked, hidden ones gone, demoted ones last) and the sets every other list of the same
    answer applies too (the personal store's sections, see `service.core.store_sections.adjust`)."""

    offers: list[Offer]
    source: str
    hidden: frozenset[str] = frozenset()  # dismissed (while it lasts), returned, complained about
    bought: frozenset[str] = frozenset()  # bought since training: out of every discovery list
    demoted: frozenset[str] = frozenset()  # at the impression cap, or like a returned item: last


def live_effect(
    offers: list[Offer], source: str, snapshot: LiveSnapshot, ctx: LiveContext, customer_id: str, now_ms: int
) -> LiveEffect:
    if snapshot == LiveSnapshot():
        return LiveEffect(offers, source)
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
    return LiveEffect(
        demote(ranked, demoted), source, snapshot.suppressed, frozenset(snapshot.purchases), frozenset(demoted)
    )


def bought_by(effect: LiveEffect, live: LiveContext | None, customer_id: str) -> set[str]:
    """Everything the customer is known to have bought: since training, among their candidates,
    and in the training data when this process holds the model (a pin must not offer it as new)."""
    known = live.personalizer.bought(customer_id) if live is not None and live.personalizer else frozenset()
    return set(effect.bought | known) | {o.item_id for o in effect.offers if o.bought}


def apply_live(
    offers: list[Offer], source: str, snapshot: LiveSnapshot, ctx: LiveContext, customer_id: str, now_ms: int
) -> tuple[list[Offer], str]:
    effect = live_effect(offers, source, snapshot, ctx, customer_id, now_ms)
    return effect.offers, effect.source
