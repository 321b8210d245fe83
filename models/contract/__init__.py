"""What the training job writes and the service reads back: Redis key names and encodings here;
the artifact format (`artifact`), the published documents (`documents`, `store_documents`,
`store_blocks`), the event log format (`events`) and the readers of an artifact that both sides
use (`export`, `purchase_history`) beside it.

The one package writer and reader share, so they cannot drift apart. Every version's keys live
under its own namespace; `CURRENT_KEY` names the version being served, and switching it is the
single atomic step of a publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import orjson

PREFIX = "mo"
# Hash tags (the part in braces decides a key's Redis Cluster slot; a single Redis ignores them):
# every control key shares `{ctl}`, so the version switch and the other control scripts stay one
# atomic single-slot step; a customer's keys share `{<customer>}` (see `document_key`, `LIVE_KEY`,
# `forgotten_marker_key`); a version's shared documents share `{v:<version>}`; the event log and
# its counters share `{events}`. One layout for a single Redis and a cluster.
CONTROL = f"{PREFIX}:{{ctl}}"
CURRENT_KEY = f"{CONTROL}:current"
PREVIOUS_KEY = f"{CONTROL}:previous"
VERSIONS_KEY = f"{CONTROL}:versions"  # list, newest first: every version ever switched to
PENDING_KEY = f"{CONTROL}:pending"  # set: versions being written by a publish, not yet switched to
# set: older versions whose keys were given a TTL: they still hold documents (an erasure must
# reach them) until they expire
EXPIRING_KEY = f"{CONTROL}:expiring"
FORGOTTEN_KEY = f"{CONTROL}:forgotten"  # set: customer ids to keep out of every version (models.rules.privacy)
# counter: bumped after each erasure has removed the customer's documents, so every worker drops
# its in-process copies of published documents (service.hotpath) before answering again
ERASURES_KEY = f"{CONTROL}:forgotten:epoch"
CAMPAIGNS_KEY = (
    f"{CONTROL}:campaigns"  # hash: campaign id -> its JSON (service.storage.campaign_book), outside any version
)
# Business rules (models.rules.business), outside every model version: they change without
# retraining or publishing. The document holds every rule and its revision; the revision key alone
# is what workers poll; the audit log is append-only (one JSON entry per change).
RULES_KEY = f"{CONTROL}:rules"
RULES_REVISION_KEY = f"{CONTROL}:rules:revision"
RULES_AUDIT_KEY = f"{CONTROL}:rules:audit"


class Offer(NamedTuple):
    """One precomputed candidate: `bought` marks items the customer already purchased."""

    item_id: str
    score: float
    bought: bool = False


# Per-customer document names (`models.contract.documents`): their key puts the id in a hash tag.
PERSONAL_DOCUMENT_KINDS = ("c:", "store:", "a:")


def version_prefix(version: str) -> str:
    return f"{PREFIX}:v:{version}"


def document_key(version: str, name: str) -> str:
    """Where a version's document `name` (see `models.contract.documents`) lives in Redis: a
    customer's (`c:<id>`, `store:<id>`, `a:<id>`) as `mo:v:<version>:c:{<id>}`, on the customer's shard;
    the shared ones as `mo:v:<version>:{v:<version>}:<name>`, together on one shard."""
    for kind in PERSONAL_DOCUMENT_KINDS:
        if name.startswith(kind):
            return f"{PREFIX}:v:{version}:{kind}{{{name[len(kind) :]}}}"
    return f"{PREFIX}:v:{version}:{{v:{version}}}:{name}"


def customer_key(version: str, customer_id: str) -> str:
    return document_key(version, f"c:{customer_id}")


def popular_key(version: str) -> str:
    return document_key(version, "popular")


def catalog_key(version: str) -> str:
    return document_key(version, "catalog")


def manifest_key(version: str) -> str:
    return document_key(version, "manifest")


def complete_key(version: str) -> str:
    """Written last: a version without it is half-written and never switched to. Tagged `{ctl}`,
    so the switch script reads it on the control keys' shard."""
    return f"{version_prefix(version)}:{{ctl}}:complete"


def encode_offers(offers: Sequence[Offer]) -> bytes:
    return orjson.dumps([[o.item_id, round(float(o.score), 6), int(o.bought)] for o in offers])


def encode_offer_rows(
    item_ids: np.ndarray, items: np.ndarray, scores: np.ndarray, bought: np.ndarray, lengths: np.ndarray
) -> list[bytes]:
    """`encode_offers` for many lists at once, byte for byte: row r is the first `lengths[r]`
    entries of `items` (rows into `item_ids`), `scores` and `bought`.

    The valid entries of all rows become one flat list of (id, score, bought) tuples, built by
    C loops; each document is then one slice of it. Scores are rounded in numpy: a float32
    times 10**6 is exact in float64, so this is the same correctly rounded value as Python's
    `round(x, 6)`.
    """
    valid = np.arange(items.shape[1]) < lengths[:, None]
    ids = item_ids[items[valid]].tolist()
    rounded = np.round(scores[valid].astype(np.float64), 6).tolist()
    entries = list(zip(ids, rounded, bought[valid].astype(np.int64).tolist()))
    ends = np.cumsum(lengths).tolist()
    return [orjson.dumps(entries[end - n : end]) for end, n in zip(ends, lengths.tolist())]


def decode_offers(raw: bytes | str) -> list[Offer]:
    """`encode_offers` read back. Scores are written as JSON floats, so they come back as floats;
    `bought` comes back as 0/1 (as good as a bool for every use, and this runs per request on
    the hot path: building each `Offer` from the decoded row costs half of what converting costs)."""
    return list(map(Offer._make, orjson.loads(raw)))


def encode_json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def decode_json(raw: bytes | str) -> object:
    return orjson.loads(raw)


# --- Real-time feedback (not per version: live state and the event log survive publishes) ---

EVENTS_TAG = f"{PREFIX}:{{events}}"  # the log and its counters share one slot: one script writes them
EVENTS_STREAM = f"{EVENTS_TAG}:log"  # the durable event log (XADD), read by `train --events-from`
FEEDBACK_COUNTS_KEY = f"{EVENTS_TAG}:feedback:counts"  # hash "type|source|section|segment" -> count
ITEM_RETURNS_KEY = f"{EVENTS_TAG}:feedback:returns"  # hash item -> returns reported by events
ITEM_COMPLAINTS_KEY = f"{EVENTS_TAG}:feedback:complaints"  # hash item -> complaints reported by events
# One key per forgotten customer beside the deny-list set (`FORGOTTEN_KEY`), on the customer's
# shard: the live scripts check it in the same atomic step as the writes they guard (a cluster
# script cannot read the set, which lives on the control shard).
FORGOTTEN_MARKER_PREFIX = f"{PREFIX}:forgotten:"


def forgotten_marker_key(customer_id: str) -> str:
    return f"{FORGOTTEN_MARKER_PREFIX}{{{customer_id}}}"


# One customer's live state, each part a key. The `{customer}` hash tag keeps a customer's keys
# on one cluster shard, so the scripts that update them stay single-slot.
LIVE_PARTS = (
    "bought",  # hash item -> purchase events
    "recent",  # zset item -> latest purchase time (ms)
    "suppressed",  # zset item -> suppressed until (ms; +inf for returns and complaints)
    "negative",  # zset item -> time returned/complained (ms), newest kept
    "shown",  # hash item -> "since_ms|count|source|section": impressions in the current window
    "contact",  # string: time of the last outbound contact (ms)
    "view",  # string: JSON of what the answer overlays need (service.live.view), kept by the scripts
    "plans",  # hash item -> "subscribed" | "unsubscribed": replenishment plans, the latest event's word
)


LIVE_PREFIX = f"{PREFIX}:live:"
LIVE_KEY = LIVE_PREFIX + "{%s}:%s"  # % (customer, part); the hot path formats it directly


def live_key(customer_id: str, part: str) -> str:
    if part not in LIVE_PARTS:
        raise ValueError(f"unknown live state part {part!r}")
    return LIVE_KEY % (customer_id, part)


def live_keys(customer_id: str) -> list[str]:
    """All of one customer's live keys, in `LIVE_PARTS` order."""
    return [live_key(customer_id, part) for part in LIVE_PARTS]
