"""Both homes of the business rules, the files beside the artifacts and a real Redis, keep the
same promises: what was committed is read back, a commit on a stale revision is refused and
leaves nothing behind, and every commit's audit entry is there, newest first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from models.rules.business import EMPTY_RULES, Rule, RuleSet, RuleSpec, audit_entry
from service.storage.guard import RedisGuard
from service.storage.rules_storage import FileRules, RedisRules, RuleStorage
from tests.support.redis_server import RedisServer

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(params=[pytest.param("file"), pytest.param("redis", marks=pytest.mark.redis)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuleStorage]:
    if request.param == "file":
        yield FileRules(tmp_path / "rules")
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    request.getfixturevalue("redis_client")  # a clean database
    yield RedisRules(aioredis.Redis.from_url(server.url), RedisGuard())


async def _round_trip(storage: RuleStorage) -> None:
    assert await storage.load() == EMPTY_RULES and await storage.revision() == 0
    rule = Rule.made(RuleSpec(kind="pin", item_id="85123A", segment=1), "key1", NOW)
    first = RuleSet.of([rule], 1)
    assert await storage.commit(0, first, audit_entry("create", "key1", NOW, 1, None, rule))
    assert await storage.load() == first and await storage.revision() == 1
    stale = RuleSet.of([], 1)  # made from revision 0, which is gone
    assert not await storage.commit(0, stale, audit_entry("delete", "key2", NOW, 1, rule, None))
    assert await storage.load() == first
    second = RuleSet.of([], 2)
    assert await storage.commit(1, second, audit_entry("delete", "marketer", NOW, 2, rule, None))
    assert await storage.load() == second
    log = await storage.audit(10)
    assert [(e["action"], e["who"], e["revision"]) for e in log] == [("delete", "marketer", 2), ("create", "key1", 1)]
    assert log[0]["before"]["item_id"] == "85123A" and log[0]["after"] is None
    assert [e["action"] for e in await storage.audit(1)] == ["delete"]


def test_commits_are_read_back_compared_and_audited(storage: RuleStorage) -> None:
    asyncio.run(_round_trip(storage))


def test_the_file_store_keeps_its_rules_beside_the_artifacts_in_plain_json(tmp_path: Path) -> None:
    storage = FileRules(tmp_path / "rules")
    rule = Rule.made(RuleSpec(kind="block", category="toys"), "key1", NOW)
    assert asyncio.run(storage.commit(0, RuleSet.of([rule], 1), audit_entry("create", "key1", NOW, 1, None, rule)))
    assert (tmp_path / "rules" / "rules.json").is_file()
    assert len((tmp_path / "rules" / "audit.jsonl").read_text().splitlines()) == 1
    assert FileRules(tmp_path / "rules")._read().rules == (rule,)  # another worker reads the same
