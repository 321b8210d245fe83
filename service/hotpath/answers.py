"""Answers kept in process, per model version, erasure count and day.

A customer's entry holds their pre-rendered answer rows (`service.hotpath.cold`) and, once a
request needed them, their decoded candidates (so a request whose overlay view is non-empty
needs no further document read), and rendered answers by query. Answers are reused only while
nothing they depend on can have changed: the same version, no erasure since (an erasure anywhere
empties every worker's cache, see `models.contract.ERASURES_KEY`), the same UTC day (catalog
rules are by day), and, for `/recommend`, the same overlay view and a time before the view's
earliest expiry (a suppression or an impression cap running out).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from models.contract import Offer
from service.live.state import Impressions
from service.storage.experiments import Exposure


@dataclass(slots=True)
class Rendered:
    body: bytes
    view: bytes | None  # the overlay view the answer was computed with
    valid_until_ms: float  # the view's earliest expiry
    shown: Impressions | None = None  # what the answer shows, recorded as impressions
    encoded: str = ""  # `shown` as the impressions script takes it
    exposure: Exposure | None = None  # what showing it counts for an experiment variant


@dataclass(slots=True)
class Entry:
    offers: list[Offer] | None  # None: a customer this version does not know (or not read yet)
    answer: bytes | None = None  # the `a:` document (`service.hotpath.cold`), if there is one
    offers_read: bool = True  # False: `offers` not read yet (the entry was made for the `a:` document)
    answer_read: bool = False  # the `a:` document was read (`answer` None: there is none)
    segment: str | None = None  # feedback label (`LiveContext.segment_of`), once known
    bodies: dict[object, Rendered] = field(default_factory=dict)


class AnswerCache:
    """A bounded LRU of `Entry` per customer for one (version, erasures, day)."""

    def __init__(self, key: tuple[object, ...], size: int) -> None:
        """`key`: what every answer in here depends on (version, erasure count, day, generation)."""
        self.key = key
        self.size = size
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, customer_id: str) -> Entry | None:
        entry = self._entries.get(customer_id)
        if entry is not None:
            self._entries.move_to_end(customer_id)
        return entry

    def put(self, customer_id: str, entry: Entry) -> Entry:
        self._entries[customer_id] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def drop(self, customer_id: str) -> None:
        self._entries.pop(customer_id, None)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)
