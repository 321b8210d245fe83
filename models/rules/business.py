"""Business rules: what marketers change about the lists without retraining.

A rule pins, boosts, buries or blocks an item or a whole category, for everyone or for one
micro-segment, while `start <= now < end` (UTC; an open end is "until deleted"). A diversity
rule caps how many items of one category a list shows. Written once here and applied by every
surface through `apply`, after the catalog rules and the surface's own filters, never instead
of them:

1. **availability first**: `allowed` (the catalog rules, `exclude`, what the customer bought or
   returned...) decides; no rule brings back an item it refuses, so pinning an unavailable item
   does nothing;
2. **block** wins over everything: a blocked item (or category) is on no list;
3. **pin**: pinned items come first, in the order the rules were made; where the surface lets
   pins add items (`inject`: a customer's recommendations) a pinned item is shown even if the
   model did not pick it, elsewhere it moves to the front when it is there; a pinned category's
   items come next;
4. **diversity**: at most N items per category (the smallest N of the active diversity rules);
   pinned items count towards it but are never dropped for it; items without a category are not
   capped;
5. **boost / bury**: boosted items move ahead of the rest, buried ones behind everything (shown
   only when nothing else is left); bury wins over boost; each group keeps the model's order.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Kind = Literal["pin", "boost", "bury", "block", "diversity"]
State = Literal["active", "scheduled", "expired"]
ITEM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"
MAX_PER_CATEGORY = 100


def utc(value: datetime) -> datetime:
    """A datetime in UTC; a naive one is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RuleSpec(BaseModel):
    """What a marketer asks for. Validated field by field, so a bad rule names its field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    item_id: str | None = Field(None, min_length=1, max_length=64, pattern=ITEM_ID_PATTERN)
    category: str | None = Field(None, min_length=1, max_length=64, validate_default=True)
    segment: int | None = Field(None, ge=0, le=100_000, description="a micro-segment id; none = every customer")
    start: datetime | None = Field(None, description="UTC; none = at once")
    end: datetime | None = Field(None, description="UTC, exclusive; none = until deleted")
    max_per_category: int | None = Field(
        None, ge=1, le=MAX_PER_CATEGORY, validate_default=True, description="diversity rules only"
    )
    note: str | None = Field(None, max_length=200)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return utc(value) if value is not None else None

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if value is not None and start is not None and value <= start:
            raise ValueError("end must be after start (a rule is active from start until just before end)")
        return value

    @field_validator("category")
    @classmethod
    def _one_target(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind, item = info.data.get("kind"), info.data.get("item_id")
        if kind == "diversity":
            if value is not None or item is not None:
                raise ValueError("a diversity rule caps every category: give neither item_id nor category")
        elif kind is not None and (value is None) == (item is None):
            raise ValueError(f"a {kind} rule targets exactly one of item_id or category")
        return value

    @field_validator("max_per_category")
    @classmethod
    def _cap_for_diversity(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind == "diversity" and value is None:
            raise ValueError("a diversity rule needs max_per_category (1..100)")
        if kind not in (None, "diversity") and value is not None:
            raise ValueError("only diversity rules take max_per_category")
        return value

    def state_at(self, now: datetime) -> State:
        if self.start is not None and now < self.start:
            return "scheduled"
        if self.end is not None and now >= self.end:
            return "expired"
        return "active"

    def reaches(self, segment: int | None) -> bool:
        """For everyone, or for this segment (a customer without one gets global rules only)."""
        return self.segment is None or self.segment == segment


class Rule(RuleSpec):
    """A stored rule: the spec plus its id and who made and last changed it, and when."""

    id: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def made(cls, spec: RuleSpec, who: str, now: datetime, rule_id: str | None = None) -> Rule:
        return cls(
            **spec.model_dump(),
            id=rule_id or new_rule_id(),
            created_at=now,
            created_by=who,
            updated_at=now,
            updated_by=who,
        )

    def changed(self, spec: RuleSpec, who: str, now: datetime) -> Rule:
        return Rule(
            **spec.model_dump(),
            id=self.id,
            created_at=self.created_at,
            created_by=self.created_by,
            updated_at=now,
            updated_by=who,
        )


def new_rule_id() -> str:
    return "r" + secrets.token_hex(6)


def _fold(category: str | None) -> str | None:
    return category.casefold() if category else None


@dataclass(frozen=True)
class ListRules:
    """The rules active for one list (its segment, its moment), ready to apply."""

    blocked_items: frozenset[str] = frozenset()
    blocked_categories: frozenset[str] = frozenset()
    pinned: tuple[str, ...] = ()
    pinned_categories: frozenset[str] = frozenset()
    boosted_items: frozenset[str] = frozenset()
    boosted_categories: frozenset[str] = frozenset()
    buried_items: frozenset[str] = frozenset()
    buried_categories: frozenset[str] = frozenset()
    cap: int | None = None

    @property
    def empty(self) -> bool:
        return self is NO_RULES or self == NO_RULES

    def blocks(self, item_id: str, category: str | None) -> bool:
        return item_id in self.blocked_items or (category is not None and category in self.blocked_categories)

    def tier(self, item_id: str, category: str | None) -> int:
        """0 a pinned category's item, 1 boosted, 2 neither, 3 buried (bury wins over boost)."""
        if item_id in self.buried_items or (category is not None and category in self.buried_categories):
            return 3
        if category is not None and category in self.pinned_categories:
            return 0
        if item_id in self.boosted_items or (category is not None and category in self.boosted_categories):
            return 1
        return 2


NO_RULES = ListRules()


def list_rules(rules: Iterable[RuleSpec], segment: int | None, now: datetime) -> ListRules:
    """The rules of `rules` active at `now` that reach `segment`, gathered by kind."""
    items: dict[str, set[str]] = {k: set() for k in ("block", "boost", "bury")}
    categories: dict[str, set[str]] = {k: set() for k in ("block", "boost", "bury", "pin")}
    pinned: list[str] = []
    caps: list[int] = []
    for rule in rules:
        if not rule.reaches(segment) or rule.state_at(now) != "active":
            continue
        if rule.kind == "diversity":
            caps.append(rule.max_per_category or MAX_PER_CATEGORY)
        elif rule.item_id is not None:
            if rule.kind == "pin":
                if rule.item_id not in pinned:
                    pinned.append(rule.item_id)
            else:
                items[rule.kind].add(rule.item_id)
        else:
            categories[rule.kind].add(_fold(rule.category) or "")
    if not (pinned or caps or any(items.values()) or any(categories.values())):
        return NO_RULES
    return ListRules(
        frozenset(items["block"]),
        frozenset(categories["block"]),
        tuple(pinned),
        frozenset(categories["pin"]),
        frozenset(items["boost"]),
        frozenset(categories["boost"]),
        frozenset(items["bury"]),
        frozenset(categories["bury"]),
        min(caps) if caps else None,
    )


def apply(
    ranked: Sequence[str],
    k: int,
    allowed: Callable[[str], bool],
    category_of: Callable[[str], str | None],
    rules: ListRules,
    inject: bool = False,
) -> list[str]:
    """The first `k` items of `ranked` (best first) that `allowed` lets through, after `rules`
    (see the module docstring for the order). `inject`: pinned items not among `ranked` may be
    added (still only if `allowed`)."""
    if rules.empty:
        return _take((i for i in ranked if allowed(i)), k)
    categorized = rules.cap is not None or bool(
        rules.blocked_categories or rules.pinned_categories or rules.boosted_categories or rules.buried_categories
    )
    fold = (lambda i: _fold(category_of(i))) if categorized else (lambda i: None)  # noqa: E731
    present = frozenset() if inject else frozenset(ranked)
    pins: list[str] = []
    for item_id in rules.pinned:
        if len(pins) < k and (inject or item_id in present) and not rules.blocks(item_id, fold(item_id)):
            if allowed(item_id):
                pins.append(item_id)
    taken, shown = set(pins), _Shown(rules.cap, [fold(i) for i in pins])
    need = k - len(pins)
    # Without pinned categories or boosts, the model's order is the final one (buried items last),
    # so the walk may stop as soon as it has enough; otherwise it sorts everything into tiers
    # first and asks `allowed` (the costly check) only of the items it then takes.
    in_order = not (rules.pinned_categories or rules.boosted_items or rules.boosted_categories)
    tiers: tuple[list[tuple[str, str | None]], ...] = ([], [], [], [])
    out: list[str] = []
    for item_id in ranked:
        if item_id in taken:
            continue
        category = fold(item_id)
        if rules.blocks(item_id, category):
            continue
        taken.add(item_id)
        tier = rules.tier(item_id, category)
        if in_order and tier == 2:
            if len(out) < need and allowed(item_id) and shown.admits(category):
                out.append(item_id)
            if len(out) >= need:
                return pins + out
        else:
            tiers[tier].append((item_id, category))
    for item_id, category in (entry for tier in tiers for entry in tier):  # stable: the model's order within a tier
        if len(out) >= need:
            break
        if allowed(item_id) and shown.admits(category):
            out.append(item_id)
    return pins + out


class _Shown:
    """Items per category already in the list, against the diversity cap."""

    def __init__(self, cap: int | None, categories: Iterable[str | None]) -> None:
        self.cap, self.counts = cap, dict[str, int]()
        for category in categories:
            if category is not None:
                self.counts[category] = self.counts.get(category, 0) + 1

    def admits(self, category: str | None) -> bool:
        """Room for one more of `category` (counted if so); no category, no cap."""
        if self.cap is None or category is None:
            return True
        if self.counts.get(category, 0) >= self.cap:
            return False
        self.counts[category] = self.counts.get(category, 0) + 1
        return True


def _take(items: Iterable[str], k: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for item_id in items:
        if len(out) >= k:
            break
        if item_id not in seen:
            seen.add(item_id)
            out.append(item_id)
    return out


@dataclass(frozen=True)
class RuleSet:
    """Every stored rule at one revision (the revision counts changes, so a worker knows when
    its copy is stale); what surfaces read per request."""

    rules: tuple[Rule, ...] = ()
    revision: int = 0
    _segmented: bool = field(default=False, compare=False)

    @classmethod
    def of(cls, rules: Iterable[Rule], revision: int) -> RuleSet:
        kept = tuple(rules)
        return cls(kept, revision, any(r.segment is not None for r in kept))

    def for_list(self, segment: int | None, now: datetime) -> ListRules:
        return list_rules(self.rules, segment, now) if self.rules else NO_RULES

    def needs_segment(self) -> bool:
        """Some rule is for one segment: a surface must know the customer's to apply them."""
        return self._segmented

    def in_force(self, now: datetime) -> bool:
        """Some rule is active now or scheduled: answers made now may change when one starts or
        ends (the hot path leaves such requests to the routes)."""
        return any(r.state_at(now) != "expired" for r in self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "rules": [r.model_dump(mode="json") for r in self.rules]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RuleSet:
        return cls.of((Rule.model_validate(r) for r in doc.get("rules", [])), int(doc.get("revision", 0)))


EMPTY_RULES = RuleSet()


def audit_entry(
    action: Literal["create", "update", "delete"],
    who: str,
    now: datetime,
    revision: int,
    before: Rule | None,
    after: Rule | None,
) -> dict[str, Any]:
    """One line of the append-only audit log: who changed what when, before and after."""
    rule = after or before
    return {
        "at": now.isoformat(),
        "who": who,
        "action": action,
        "rule_id": rule.id if rule is not None else None,
        "revision": revision,
        "before": before.model_dump(mode="json") if before else None,
        "after": after.model_dump(mode="json") if after else None,
    }
