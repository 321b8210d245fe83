"""One step for a Redis written before the keys carried hash tags (see `models.contract`): the
keys that live outside model versions are renamed to their tagged names, so the event log, the
deny list, rules, campaigns and experiments carry over. Model versions are not renamed: publish
the artifact again (it writes the tagged layout and switches to it). One Redis only: a cluster
was never written with the old names (they would not have worked on it).
"""

from __future__ import annotations

import logging

import redis

from models import contract
from models.contract import experiments

log = logging.getLogger(__name__)

RENAMED = {
    "mo:events": contract.EVENTS_STREAM,
    "mo:feedback:counts": contract.FEEDBACK_COUNTS_KEY,
    "mo:feedback:returns": contract.ITEM_RETURNS_KEY,
    "mo:feedback:complaints": contract.ITEM_COMPLAINTS_KEY,
    "mo:forgotten": contract.FORGOTTEN_KEY,
    "mo:forgotten:epoch": contract.ERASURES_KEY,
    "mo:campaigns": contract.CAMPAIGNS_KEY,
    "mo:rules": contract.RULES_KEY,
    "mo:rules:revision": contract.RULES_REVISION_KEY,
    "mo:rules:audit": contract.RULES_AUDIT_KEY,
    "mo:experiments": experiments.EXPERIMENTS_KEY,
    "mo:experiment:running": experiments.RUNNING_KEY,
}


def migrate_keys(client: redis.Redis) -> list[str]:
    """Rename every old key that exists and whose new name is free; returns the old names renamed.
    The deny list's ids also get their marker keys (`contract.forgotten_marker_key`)."""
    renamed = []
    for old, new in RENAMED.items():
        if client.exists(old) and not client.exists(new):
            client.rename(old, new)
            renamed.append(old)
            log.info("renamed %s to %s", old, new)
    pipe = client.pipeline(transaction=False)
    for raw in client.sscan_iter(contract.FORGOTTEN_KEY, count=10_000):
        pipe.set(contract.forgotten_marker_key(raw.decode()), b"1")
    pipe.execute()
    return renamed
