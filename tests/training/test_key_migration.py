"""`microoffers migrate-keys`: a Redis written with the untagged names keeps its event log, deny
list and rules under the tagged ones, and the deny list's ids get their markers."""

from __future__ import annotations

import pytest
import redis

from models import contract
from training.key_migration import migrate_keys

pytestmark = pytest.mark.redis


def test_old_keys_are_renamed_and_new_ones_never_overwritten(redis_client: redis.Redis) -> None:
    redis_client.xadd("mo:events", {"customer_id": "c1"})
    redis_client.sadd("mo:forgotten", "gone")
    redis_client.set("mo:rules", b"old")
    redis_client.set(contract.RULES_KEY, b"new")  # already written under the new name: kept
    assert migrate_keys(redis_client) == ["mo:events", "mo:forgotten"]
    assert redis_client.xlen(contract.EVENTS_STREAM) == 1 and not redis_client.exists("mo:events")
    assert redis_client.smembers(contract.FORGOTTEN_KEY) == {b"gone"}
    assert redis_client.exists(contract.forgotten_marker_key("gone"))
    assert redis_client.get(contract.RULES_KEY) == b"new" and redis_client.get("mo:rules") == b"old"
    assert migrate_keys(redis_client) == []  # once is enough
