"""Both campaign books keep, list (newest first), read and delete campaigns; the file book
survives a restart; the Redis book lives outside every model version."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from models import contract
from service.http.schemas import CampaignOut
from service.storage.campaign_book import CampaignBook, FileCampaignBook, RedisCampaignBook
from tests.support.redis_server import RedisServer


def _campaign(n: int) -> CampaignOut:
    return CampaignOut(
        id=f"c{n:012x}",
        name=f"Campaign {n}",
        customer_ids=["12346", "12347"],
        channel="push",
        start="2030-03-04",  # type: ignore[arg-type]
        created_by="marketer",
        created_at=datetime(2030, 1, 1, n, tzinfo=UTC),
    )


async def _round_trip(book: CampaignBook) -> None:
    for n in (1, 3, 2):
        await book.add(_campaign(n))
    assert [c.id for c in await book.all()] == [_campaign(n).id for n in (3, 2, 1)]
    assert await book.get(_campaign(2).id) == _campaign(2)
    assert await book.delete(_campaign(2).id) is True
    assert await book.delete(_campaign(2).id) is False
    assert await book.get(_campaign(2).id) is None


def test_file_book_keeps_campaigns_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "campaigns" / "campaigns.json"
    asyncio.run(_round_trip(FileCampaignBook(path)))
    assert [c.id for c in asyncio.run(FileCampaignBook(path).all())] == [_campaign(n).id for n in (3, 1)]


@pytest.mark.redis
def test_redis_book_keeps_campaigns_in_their_hash(redis_server: RedisServer, redis_client: redis.Redis) -> None:
    async def run() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        try:
            await _round_trip(RedisCampaignBook(client))
        finally:
            await client.aclose()

    asyncio.run(run())
    assert sorted(redis_client.hkeys(contract.CAMPAIGNS_KEY)) == sorted(_campaign(n).id.encode() for n in (1, 3))
