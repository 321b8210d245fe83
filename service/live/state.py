"""Per-customer live state: what happened since the last training run, kept outside any version.

A customer's live state holds their recent purchases, suppressed items (dismissed until a time,
returned or complained about for good), the items they returned or complained about (to push
similar ones down), how often each item was shown in the current capping window, and when they
were last contacted. It is keyed by customer, not by model version, so it survives publishes.

`LiveState` is the one interface; `RedisLiveState` (Lua scripts, a Redis Stream as the log) and
`EmbeddedLiveState` (dicts, a JSONL file as the log) implement it with the same rules, written
here once for the embedded side and mirrored by the Lua of the Redis side; the same tests run
against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from models.contract.events import ENGAGEMENT_TYPES, NEGATIVE_TYPES, PLAN_STATES, Event, LoggedEvent

NONE = "none"  # attribution when nothing is known


@dataclass(frozen=True)
class LivePolicy:
    """The knobs of the live rules (from `service.settings.Settings`)."""

    dismiss_ms: int = 7 * 86_400_000
    cap_impressions: int = 5
    cap_window_ms: int = 86_400_000
    negative_keep: int = 20
    ttl_s: int = 90 * 86_400


@dataclass(frozen=True, slots=True)
class Shown:
    """Impressions of one item in the current window, and where it was last shown."""

    since_ms: int
    count: int
    source: str = NONE
    section: str = NONE

    def encode(self) -> str:
        return f"{self.since_ms}|{self.count}|{self.source}|{self.section}"

    @classmethod
    def decode(cls, raw: str) -> Shown:
        since, count, source, section = raw.split("|", 3)
        return cls(int(float(since)), int(count), source, section)

    def impressed(self, now_ms: int, window_ms: int, source: str, section: str) -> Shown:
        """One more impression; a window that has passed starts again at `now_ms`."""
        if now_ms - self.since_ms > window_ms:
            return Shown(now_ms, 1, source, section)
        return Shown(self.since_ms, self.count + 1, source, section)


@dataclass(frozen=True)
class LiveSnapshot:
    """One customer's live state as read at one moment (what the overlays need)."""

    purchases: dict[str, tuple[int, int]] = field(default_factory=dict)  # item -> (events, last ms)
    suppressed: frozenset[str] = frozenset()  # suppression still running at read time
    negative: tuple[str, ...] = ()  # returned / complained items, newest first
    shown: dict[str, Shown] = field(default_factory=dict)
    last_contact_ms: int | None = None
    # items known to be at the cap, with their window's start (the overlay view carries only these)
    at_cap_since: dict[str, int] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)  # item -> "subscribed" | "unsubscribed"

    def capped_among(self, items: Sequence[str], policy: LivePolicy, now_ms: int) -> tuple[str, ...]:
        """Those of an answer's `items` already at the cap, in order (`Impressions.capped`)."""
        if not (self.at_cap_since or self.shown):
            return ()
        at_cap = self.capped(policy, now_ms)
        return tuple(item for item in items if item in at_cap)

    def capped(self, policy: LivePolicy, now_ms: int) -> frozenset[str]:
        """Items shown `cap_impressions` times within the window without a click or purchase."""
        window = policy.cap_window_ms
        capped = {
            item
            for item, s in self.shown.items()
            if s.count >= policy.cap_impressions and now_ms - s.since_ms <= window
        }
        capped.update(item for item, since in self.at_cap_since.items() if now_ms - since <= window)
        return frozenset(capped)

    def purchases_after(self, ms: int) -> dict[str, int]:
        """Items bought after `ms` (e.g. after the data the model was trained on), with counts."""
        return {item: n for item, (n, last) in self.purchases.items() if last > ms}

    def recent_purchases(self) -> list[str]:
        """Live-bought items, newest first: the head of a `buy_again` section."""
        return sorted(self.purchases, key=lambda item: -self.purchases[item][1])


class Impressions(NamedTuple):
    """Items the service showed one customer in one answer (soft state: never in the event log).
    `capped` of them were already at the impression cap when the answer was made: they count in
    the feedback totals, but their per-item counts are not written again (at the cap, one more
    impression changes nothing until the window ends, and then the item is no longer capped)."""

    customer_id: str
    item_ids: tuple[str, ...]
    source: str
    section: str
    segment: str
    capped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one event produced: its log id and the attribution its counter used."""

    id: str
    source: str
    section: str


def feedback_field(kind: str, source: str, section: str, segment: str) -> str:
    """Counter name of one (type, source, section, segment) cell."""
    return "|".join(part.replace("|", "/") for part in (kind, source, section, segment))


def parse_feedback_field(name: str) -> tuple[str, str, str, str]:
    kind, source, section, segment = name.split("|", 3)
    return kind, source, section, segment


class LiveState(ABC):
    """Record events and impressions, read one customer's state, claim outbound contacts."""

    kind: str

    def __init__(self, policy: LivePolicy) -> None:
        self.policy = policy

    @abstractmethod
    async def record(self, events: Sequence[Event], segments: Sequence[str], now_ms: int) -> list[Recorded]:
        """Log and apply `events` (one segment label each) atomically: all or none."""

    @abstractmethod
    async def record_impressions(self, shown: Impressions, now_ms: int) -> None:
        """The service showed `shown.item_ids` (its own responses count as impressions; not
        logged); those of them in `shown.capped` are counted, their per-item counts not written."""

    @abstractmethod
    async def snapshot(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        """Everything known of the customer (privacy export, outbound contact rules)."""

    async def overlay(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        """What can change an answer (read on every request): purchases, running suppressions,
        returned/complained items, items at the impression cap. `apply_live` gives the same
        answer from this as from the full snapshot."""
        return await self.snapshot(customer_id, now_ms)

    async def hidden_items(self, now_ms: int) -> dict[str, frozenset[str]]:
        """Customer -> the items their live state rules out of every list (bought since training,
        hidden now): what a bulk export of every customer's offer leaves out. Reads every
        customer with live state: for exports, not the request path."""
        return {
            customer: items
            for customer, snap in await self.overlays(now_ms)
            if (items := frozenset(snap.purchases) | snap.suppressed)
        }

    @abstractmethod
    async def overlays(self, now_ms: int) -> list[tuple[str, LiveSnapshot]]:
        """Every customer with live state, and their overlay (see `overlay`)."""

    @abstractmethod
    async def claim_contact(self, customer_id: str, now_ms: int, min_interval_ms: int) -> int | None:
        """Record an outbound contact at `now_ms` unless the last one is under `min_interval_ms`
        ago; returns None when claimed, else the time of the last contact."""

    @abstractmethod
    async def feedback_counts(self) -> dict[str, int]:
        """All counters by `feedback_field` name."""

    @abstractmethod
    async def item_feedback(self) -> dict[str, dict[str, int]]:
        """{"return": {item: n}, "complaint": {item: n}} for marketers."""

    @abstractmethod
    async def recent_negative(self, limit: int) -> list[LoggedEvent]:
        """The newest `return` and `complaint` events in the durable log, newest first, at most
        `limit` (for the preview's complaints page; forgotten customers' events are gone from
        the log with them)."""

    @abstractmethod
    async def customer_events(self, customer_id: str) -> list[LoggedEvent]:
        """Every event of the customer in the durable log, oldest first (privacy export). Scans
        the whole log: meant for rare admin calls, not the request path."""

    @abstractmethod
    async def forget(self, customer_id: str) -> int:
        """Remove the customer's live state and their events from the log at once; returns how
        many events were removed. Aggregate counters (feedback totals) are kept: they hold no
        customer id."""

    async def close(self) -> None:
        return None


@dataclass
class CustomerState:
    """The embedded store's copy of one customer's live state (mirrors the Redis keys)."""

    bought: dict[str, int] = field(default_factory=dict)
    recent: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, float] = field(default_factory=dict)
    negative: dict[str, int] = field(default_factory=dict)
    shown: dict[str, Shown] = field(default_factory=dict)
    contact_ms: int | None = None
    plans: dict[str, str] = field(default_factory=dict)

    def apply(self, e: Event, policy: LivePolicy) -> tuple[str, str]:
        """The live rules for one event; returns its attribution (source, section)."""
        prior = self.shown.get(e.item_id)
        source = prior.source if prior else NONE
        section = e.section or (prior.section if prior else NONE)
        if e.type == "purchase":
            self.bought[e.item_id] = self.bought.get(e.item_id, 0) + 1
            self.recent[e.item_id] = max(self.recent.get(e.item_id, e.ts_ms), e.ts_ms)
        elif e.type == "dismiss":
            until = e.ts_ms + policy.dismiss_ms
            self.suppressed[e.item_id] = max(self.suppressed.get(e.item_id, until), until)
        elif e.type in NEGATIVE_TYPES:
            self.suppressed[e.item_id] = float("inf")
            self.negative[e.item_id] = e.ts_ms
            newest = sorted(self.negative.items(), key=lambda kv: -kv[1])[: policy.negative_keep]
            self.negative = dict(newest)
        elif e.type in PLAN_STATES:
            self.plans[e.item_id] = PLAN_STATES[e.type]
        if e.type == "impression":
            base = prior or Shown(e.ts_ms, 0, source, section)
            self.shown[e.item_id] = base.impressed(e.ts_ms, policy.cap_window_ms, source, section)
        elif prior is not None and e.type in ENGAGEMENT_TYPES:
            self.shown[e.item_id] = Shown(prior.since_ms, 0, source, section)
        return source, section

    def snapshot(self, now_ms: int) -> LiveSnapshot:
        return LiveSnapshot(
            purchases={item: (n, self.recent.get(item, 0)) for item, n in self.bought.items()},
            suppressed=frozenset(item for item, until in self.suppressed.items() if until > now_ms),
            negative=tuple(sorted(self.negative, key=lambda item: -self.negative[item])),
            shown=dict(self.shown),
            last_contact_ms=self.contact_ms,
            plans=dict(self.plans),
        )
