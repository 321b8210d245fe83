"""The personal store's sections, planned from its ingredients and filled in page order.

Pure functions: `plan_*` turn published ingredients into candidate lists with reasons, and
`assemble` walks the sections in order, taking each section's next candidates that the
request-time rules allow and that no earlier section showed. So no item appears twice in one
store, a dropped item is replaced by the next candidate, and sections with nothing left are
left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from models.contract import Offer
from models.rules.loyalty import RFM
from models.rules.ranking import ScoreScale, scale_of
from models.rules.wording import FEATURED_REASON, duration, repeat_purchase_reason
from service.core.filters import ItemFilter
from service.http.schemas import ReplenishmentPlan, StoreItem, StoreSection


@dataclass(frozen=True, slots=True)
class Candidate:
    item_id: str
    score: float
    reason: str
    plan: ReplenishmentPlan | None = None


@dataclass(frozen=True)
class SectionPlan:
    id: str
    title: str
    reason: str
    candidates: Sequence[Candidate]
    scale: ScoreScale | None = None  # None: the candidates' own (see `models.rules.ranking.ScoreScale`)
    discovery: bool = True  # items bought since training leave it (all but buy_again)
    pins: bool = False  # a pinned item may join it (the customer's recommendations), unless in `never`
    never: frozenset[str] = frozenset()


def adjust(plan: SectionPlan, hidden: frozenset[str], bought: frozenset[str], demoted: frozenset[str]) -> SectionPlan:
    """A section after the customer's live state, as `/recommend` treats its candidates
    (`service.live.overlays.live_effect`): hidden items go, items bought since training leave
    discovery sections, demoted ones move last. The scale stays that of the planned candidates."""
    if not (hidden or bought or demoted):
        return plan
    gone = hidden | bought if plan.discovery else hidden
    kept = [c for c in plan.candidates if c.item_id not in gone]
    ordered = [c for c in kept if c.item_id not in demoted] + [c for c in kept if c.item_id in demoted]
    scale = plan.scale or ScoreScale.of(c.score for c in plan.candidates)
    return replace(plan, candidates=ordered, scale=scale)


@dataclass(frozen=True, slots=True)
class BuyAgain:
    item_id: str
    interval_days: float
    days_since: float
    score: float
    occasions: int = 2  # documents published before it was recorded: the fewest, so no rhythm is claimed

    @property
    def reason(self) -> str:
        return repeat_purchase_reason(self.occasions, self.interval_days, self.days_since)


@dataclass(frozen=True)
class Ingredients:
    """A known customer's `store:` document (see `models.contract.store_documents`), decoded."""

    segment: int
    tier: str
    rfm: RFM
    buy_again: list[BuyAgain]
    anchor: str | None = None
    because: list[tuple[str, float]] = field(default_factory=list)
    new_arrivals: list[tuple[str, float]] = field(default_factory=list)
    bought_trending: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Ingredients:
        recency, orders, spend, tenure = d["r"]
        anchor = d.get("a")
        return cls(
            segment=int(d["s"]),
            tier=str(d["t"]),
            rfm=RFM(float(recency), int(orders), float(spend), float(tenure)),
            buy_again=[
                BuyAgain(str(i), float(n), float(s), float(sc), *map(int, rest))
                for i, n, s, sc, *rest in d.get("b", [])
            ],
            anchor=str(anchor[0]) if anchor else None,
            because=[(str(i), float(s)) for i, s in anchor[1]] if anchor else [],
            new_arrivals=[(str(i), float(s)) for i, s in d.get("n", [])],
            bought_trending=frozenset(d.get("x", [])),
        )


@dataclass(frozen=True)
class Trending:
    """A `trending:<segment>` document: [item, score, recent buyers, mean buyers per earlier window]."""

    window_days: float
    segment: str | None
    items: list[tuple[str, float, float, float]]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Trending:
        return cls(
            float(d.get("window_days") or 28),
            d.get("segment"),
            [(str(i), float(s), float(r), float(b)) for i, s, r, b in d.get("items", [])],
        )


def assemble(plans: Sequence[SectionPlan], rules: ItemFilter, k: int) -> list[StoreSection]:
    """Each section's first `k` candidates the rules allow (business rules included) that no
    earlier section showed; a pinned item joins only a section that takes pins, as "featured"."""
    seen: set[str] = set()
    sections = []
    for plan in plans:
        scale = plan.scale or ScoreScale.of(c.score for c in plan.candidates)
        picked = _first(plan.candidates, rules, k, seen) if rules.business.empty else _ruled(plan, rules, k, seen)
        seen.update(c.item_id for c in picked)
        items = [
            StoreItem(
                item_id=c.item_id,
                title=rules.title(c.item_id),
                price=rules.price(c.item_id),
                score=scale(c.score),
                reason=c.reason,
                plan=c.plan,
                **rules.extras(c.item_id),
            )
            for c in picked
        ]
        if items:
            sections.append(StoreSection(id=plan.id, title=plan.title, reason=plan.reason, items=items))
    return sections


def _first(candidates: Sequence[Candidate], rules: ItemFilter, k: int, seen: set[str]) -> list[Candidate]:
    picked: list[Candidate] = []
    here: set[str] = set()
    for c in candidates:
        if len(picked) == k:
            break
        if c.item_id in seen or c.item_id in here or not rules.allows(c.item_id):
            continue
        here.add(c.item_id)
        picked.append(c)
    return picked


def _ruled(plan: SectionPlan, rules: ItemFilter, k: int, seen: set[str]) -> list[Candidate]:
    """The section's picks under business rules; an item pinned into it scores 0, "featured"."""
    candidates: dict[str, Candidate] = {}
    for c in plan.candidates:
        candidates.setdefault(c.item_id, c)
    never = seen | plan.never
    ids = rules.pick(list(candidates), k, lambda i: i not in never, plan.pins)
    return [candidates.get(i) or Candidate(i, float("-inf"), FEATURED_REASON) for i in ids]


def plan_buy_again(ing: Ingredients, plans: Mapping[str, ReplenishmentPlan]) -> SectionPlan:
    """`plans`: the items' replenishment plans (those with a steady rhythm)."""
    return SectionPlan(
        "buy_again",
        "Buy it again",
        "things you bought more than once, the most due first",
        [Candidate(b.item_id, b.score, b.reason, plans.get(b.item_id)) for b in ing.buy_again],
        discovery=False,
    )


def plan_for_you(offers: Sequence[Offer]) -> SectionPlan:
    """Scored on the scale of all the customer's candidates, so an item scores here what it
    scores on `/recommend`."""
    unbought = [o for o in offers if not o.bought]
    return SectionPlan(
        "for_you",
        "Picked for you",
        "what customers with baskets like yours buy",
        [Candidate(o.item_id, o.score, "bought by customers like you") for o in unbought],
        scale_of(unbought),
    )


def plan_because(ing: Ingredients, anchor_title: str) -> SectionPlan:
    return SectionPlan(
        "because_you_bought",
        f"Because you bought {anchor_title}",
        f"customers who bought {anchor_title} also bought these",
        [Candidate(i, s, f"often bought by customers who bought {anchor_title}") for i, s in ing.because],
    )


def plan_trending(ing: Ingredients, mine: Trending | None, everyone: Trending | None) -> SectionPlan:
    """The segment's rising items the customer does not have yet, then the shop's."""
    known = mine or everyone
    window = duration(known.window_days) if known else "4 weeks"
    who = f"customers like you ({mine.segment})" if mine and mine.segment else "customers like you"
    candidates = [
        Candidate(i, s, f"{r:.0f} customers like you bought this in the last {window} ({_before(b, window)})")
        for i, s, r, b in (mine.items if mine else [])
        if i not in ing.bought_trending
    ]
    candidates += [
        Candidate(i, s, f"rising across the shop: {r:.0f} buyers in the last {window}")
        for i, s, r, _ in (everyone.items if everyone else [])
        if i not in ing.bought_trending
    ]
    return SectionPlan(
        "trending_in_your_segment",
        "Trending with customers like you",
        f"rising among {who} in the last {window}",
        candidates,
    )


def plan_new_arrivals(picks: Sequence[tuple[str, float]], personal: bool) -> SectionPlan:
    reason = "new in the shop and close to what you buy" if personal else "new in the shop and selling well"
    return SectionPlan(
        "new_arrivals", "New arrivals", "recently added to the shop", [Candidate(i, s, reason) for i, s in picks]
    )


def plan_popular(offers: Sequence[Offer]) -> SectionPlan:
    unbought = [o for o in offers if not o.bought]
    return SectionPlan(
        "popular",
        "Best-sellers",
        "what most customers buy",
        [Candidate(o.item_id, o.score, "a best-seller") for o in unbought],
        scale_of(unbought),
    )


def plan_shop_trending(everyone: Trending | None) -> SectionPlan:
    window = duration(everyone.window_days) if everyone else "4 weeks"
    return SectionPlan(
        "trending",
        "Trending now",
        f"rising across the shop in the last {window}",
        [
            Candidate(i, s, f"{r:.0f} buyers in the last {window} ({_before(b, window)})")
            for i, s, r, b in (everyone.items if everyone else [])
        ],
    )


def _before(per_window: float, window: str) -> str:
    return "new: hardly any before" if per_window < 0.5 else f"about {per_window:.0f} per {window} before"
