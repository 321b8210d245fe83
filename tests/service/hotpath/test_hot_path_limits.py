"""Where the hot path stops: with CORS configured, a browser's request (it carries `Origin`)
is the routes' business, since only their middleware adds the CORS headers; and the answer
cache holds at most `hot_path_cache_size` customers, the least recently asked for leaving
first, a customer who left being read afresh."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from models.contract.artifact import Artifact
from service.hotpath.app import HotPath
from tests.support.apps import RECOMMEND, STORE, answered, client_for
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example"
ALLOW_ORIGIN = "access-control-allow-origin"


def test_with_cors_configured_browser_requests_take_the_routes(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[6])
    with client_for(artifacts, own_redis.url, cors_origins=[ORIGIN]) as client:
        for page, route in ((f"/recommend/{customer}?k=3", RECOMMEND), (f"/personal-store/{customer}?k=3", STORE)):
            from_browser = client.get(page, headers={"Origin": ORIGIN})
            assert answered(client, route, "hot_path") == 0  # the CORS middleware answered it
            plain = client.get(page)
            assert plain.status_code == 200 and ALLOW_ORIGIN not in plain.headers
            assert plain.json() == from_browser.json()
            assert answered(client, route, "hot_path") == 1
        other = client.get(f"/recommend/{customer}", headers={"Origin": "https://elsewhere.example"})
        assert other.status_code == 200 and ALLOW_ORIGIN not in other.headers  # the routes' CORS said no
        assert answered(client, RECOMMEND, "hot_path") == 1


def test_the_answer_cache_keeps_at_most_its_size(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    size, extra = 5, 3
    customers = [str(c) for c in artifact.customers.ids[20 : 20 + size + extra]]
    with client_for(artifacts, own_redis.url, hot_path_cache_size=size) as client:
        hot = client.app.hot  # type: ignore[attr-defined]
        assert isinstance(hot, HotPath)
        first = {}
        for customer in customers:
            first[customer] = client.get(f"/recommend/{customer}?k=4").json()
            assert client.get(f"/personal-store/{customer}?k=4").status_code == 200
        for cache in (hot.recommend_cache, hot.store_cache):
            assert cache is not None and len(cache) == size
            assert [c for c in customers if c in cache] == customers[extra:]  # the first ones left
        back = customers[0]
        assert hot.recommend_cache is not None
        assert client.get(f"/recommend/{back}?k=4").json() == first[back]  # read afresh, same answer
        assert back in hot.recommend_cache and customers[extra] not in hot.recommend_cache
        assert len(hot.recommend_cache) == size
        assert answered(client, RECOMMEND, "hot_path") == size + extra + 1
        assert answered(client, RECOMMEND, "route") == 0
