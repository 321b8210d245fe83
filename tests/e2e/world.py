"""The model of the world the state machine keeps, and what it says each surface must show.

The model knows which customers are forgotten (on the deny list) or were forgotten and restored,
every event accepted for each customer since their last erasure, which versions were trained
(and whom each holds), which one is served (`mo:current`, or the embedded store's) and which
one the service has loaded in process (fold-in factors, purchase histories, CSV downloads).

`World.expect(role)` turns that into an `Expect`: the promises one customer's answers must keep
right now. Time is the `FixedClock` the test moves; a dismissal is only asserted while it is
more than `MARGIN_MS` away from its end (the boundary itself promises nothing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

EVENT_TYPES = ("purchase", "view", "click", "add_to_cart", "dismiss", "return", "complaint", "impression")
NEGATIVE_TYPES = frozenset({"return", "complaint"})
MARGIN_MS = 1000
FOREVER = float("inf")


@dataclass(frozen=True)
class Event:
    item: str
    type: str
    ts_ms: int

    def body(self, customer_id: str, with_time: bool = False) -> dict[str, object]:
        """The `POST /events` object; `with_time` pins the original time (replaying it)."""
        body: dict[str, object] = {"customer_id": customer_id, "item_id": self.item, "type": self.type}
        if with_time:
            body["timestamp"] = datetime.fromtimestamp(self.ts_ms / 1000, UTC).isoformat(timespec="milliseconds")
        return body


@dataclass(frozen=True)
class Version:
    name: str
    trained_at: int  # the model's tick when it was trained (the base version: 0)
    customers: frozenset[str]
    items: frozenset[str]


@dataclass
class Customer:
    role: str
    id: str
    forgotten: bool = False
    erased: bool = False  # DELETE was answered at least once
    restored_at: int | None = None  # tick of the last restore
    file_only: bool = False  # forgotten by a service without Redis: only the deny-list file lists them
    events: list[Event] = field(default_factory=list)  # accepted since the last erasure

    def may_show(self, version: Version) -> bool:
        """Whether what `version` learned about them may be shown: never for a forgotten
        customer; for a restored one only from a version trained after the restore (erased
        data does not come back)."""
        if self.forgotten:
            return False
        return not self.erased or (self.restored_at is not None and version.trained_at > self.restored_at)

    def known_to(self, version: Version) -> bool:
        return self.id in version.customers and self.may_show(version)

    def hidden_in(self, version: Version) -> bool:
        """`version` holds rows of them that must not be shown anywhere."""
        return self.id in version.customers and not self.may_show(version)

    def purchases(self) -> Counter[str]:
        return Counter(e.item for e in self.events if e.type == "purchase")

    def negative(self) -> set[str]:
        return {e.item for e in self.events if e.type in NEGATIVE_TYPES}

    def suppressed_until(self, dismiss_ms: int) -> dict[str, float]:
        until: dict[str, float] = {}
        for e in self.events:
            if e.type == "dismiss":
                until[e.item] = max(until.get(e.item, 0), e.ts_ms + dismiss_ms)
            elif e.type in NEGATIVE_TYPES:
                until[e.item] = FOREVER
        return until


@dataclass(frozen=True)
class Expect:
    """What one customer's answers must keep, at one moment."""

    role: str
    customer: str
    forgotten: bool
    denied_in_redis: bool | None  # in mo:forgotten (None: forgotten offline, no promise about the set)
    source: str  # "personal" or "popular" on /recommend, /personal-store and the batch
    source_promise: str  # the promise that decides `source` (for the failure message)
    purchased: frozenset[str]  # bought since their last erasure: out of discovery
    suppressed: frozenset[str]  # dismissed (still running), returned, complained: out of every answer
    unsure: frozenset[str]  # dismissals ending about now: no promise either way
    mirror: tuple[Event, ...] | None  # must look exactly like a never-seen id with these events
    hidden_versions: frozenset[str]  # versions whose rows of them must not show
    hidden_in_served: bool
    hidden_in_loaded: bool
    events: tuple[tuple[str, str], ...]  # (item, type) in the durable log, oldest first
    purchase_counts: dict[str, int]


@dataclass
class World:
    customers: dict[str, Customer]  # by role
    versions: dict[str, Version]
    served: str  # the version answers come from
    loaded: str  # the version the service holds in process
    dismiss_ms: int
    previous: str | None = None  # Redis: what `rollback` switches back to
    tick: int = 0
    trains: int = 0

    def step(self) -> int:
        self.tick += 1
        return self.tick

    def newest(self) -> str:
        return max(self.versions)

    def forgotten(self) -> list[Customer]:
        return [c for c in self.customers.values() if c.forgotten]

    def add_version(self, name: str, customers: frozenset[str], items: frozenset[str]) -> Version:
        self.trains += 1
        version = Version(name, self.step(), customers, items)
        self.versions[name] = version
        return version

    def forget(self, role: str, file_only: bool = False) -> None:
        c = self.customers[role]
        c.forgotten, c.erased, c.events, c.file_only = True, True, [], file_only
        self.step()

    def restore(self, role: str) -> None:
        c = self.customers[role]
        if c.forgotten:
            c.forgotten, c.file_only, c.restored_at = False, False, self.step()

    def publish(self, version: str) -> None:
        if self.served != version:
            self.previous = self.served
        self.served = version
        self.step()

    def rollback(self) -> None:
        assert self.previous is not None
        self.served, self.previous = self.previous, self.served
        self.step()

    def expect(self, role: str, now_ms: int) -> Expect:
        c = self.customers[role]
        served, loaded = self.versions[self.served], self.versions[self.loaded]
        purchased = c.purchases()
        active, unsure = set(), set()
        for item, until in c.suppressed_until(self.dismiss_ms).items():
            if until - now_ms > MARGIN_MS:
                active.add(item)
            elif abs(until - now_ms) <= MARGIN_MS:
                unsure.add(item)
        bought_known = any(item in loaded.items and item not in c.negative() for item in purchased)
        if c.forgotten:
            source, promise = "popular", "forgotten-popular"
        elif c.known_to(served):
            source, promise = "personal", "source"
        elif bought_known:
            source, promise = "personal", "first-purchase-personal"
        else:
            source, promise = "popular", "source"
        looks_new = c.erased and not c.known_to(served) and not c.known_to(loaded)
        return Expect(
            role=role,
            customer=c.id,
            forgotten=c.forgotten,
            denied_in_redis=None if c.file_only else c.forgotten,
            source=source,
            source_promise=promise,
            purchased=frozenset(purchased),
            suppressed=frozenset(active),
            unsure=frozenset(unsure),
            mirror=tuple(c.events) if looks_new else None,
            hidden_versions=frozenset(v.name for v in self.versions.values() if c.erased and not c.may_show(v)),
            hidden_in_served=c.hidden_in(served),
            hidden_in_loaded=c.hidden_in(loaded),
            events=tuple((e.item, e.type) for e in c.events),
            purchase_counts=dict(purchased),
        )
