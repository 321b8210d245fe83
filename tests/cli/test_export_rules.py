"""`microoffers export` applies the business rules the service applies: from the rules file beside
the artifacts, or from Redis with `--redis-url`; as of now, or of the start of `--as-of`'s day."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import artifacts_root, resolve_version_dir
from models.rules.business import Rule, RuleSet, RuleSpec, audit_entry
from service.storage.guard import RedisGuard
from service.storage.rules_storage import FileRules, RedisRules, RuleStorage, rules_dir
from tests.support.redis_server import RedisServer

NOW = datetime.now(UTC)


@pytest.fixture
def artifacts(trained_artifacts: Path, tmp_path: Path) -> Path:
    version = resolve_version_dir(trained_artifacts)
    shutil.copytree(version, tmp_path / "artifacts" / version.name)
    return tmp_path / "artifacts"


def _segment_items(*args: str) -> list[str]:
    result = CliRunner().invoke(app, ["export", "--segment", "0", "--k", "5", *args])
    assert result.exit_code == 0, result.stderr
    return [row["item_id"] for row in csv.DictReader(io.StringIO(result.stdout))]


def _store(storage: RuleStorage, specs: list[RuleSpec]) -> None:
    rules = [Rule.made(spec, "key1", NOW) for spec in specs]
    entry = audit_entry("create", "key1", NOW, 1, None, rules[0])
    assert asyncio.run(storage.commit(0, RuleSet.of(rules, 1), entry))


def test_export_applies_the_rules_file_as_of_its_day(artifacts: Path) -> None:
    plain = _segment_items("--artifacts", str(artifacts))
    starts = NOW + timedelta(days=3)
    _store(
        FileRules(rules_dir(artifacts_root(artifacts))),
        [
            RuleSpec(kind="block", item_id=plain[0], segment=0),
            RuleSpec(kind="bury", item_id=plain[1]),
            RuleSpec(kind="pin", item_id=plain[4], start=starts),
        ],
    )
    ruled = _segment_items("--artifacts", str(artifacts))
    assert plain[0] not in ruled and ruled[:3] == plain[2:5]  # blocked gone, buried behind every other offer
    ahead = _segment_items("--artifacts", str(artifacts), "--as-of", (starts + timedelta(days=1)).date().isoformat())
    assert ahead[0] == plain[4] and plain[0] not in ahead


@pytest.mark.redis
def test_export_with_redis_reads_the_rules_redis_holds(
    artifacts: Path, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    """(`redis_client`: the database is emptied before and after.)"""
    plain = _segment_items("--artifacts", str(artifacts))

    async def store() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        rule = Rule.made(RuleSpec(kind="block", item_id=plain[0]), "key1", NOW)
        entry = audit_entry("create", "key1", NOW, 1, None, rule)
        assert await RedisRules(client, RedisGuard()).commit(0, RuleSet.of([rule], 1), entry)
        await client.aclose()

    asyncio.run(store())
    assert plain[0] not in _segment_items("--artifacts", str(artifacts), "--redis-url", redis_server.url)
    assert _segment_items("--artifacts", str(artifacts)) == plain  # the file beside them holds none
