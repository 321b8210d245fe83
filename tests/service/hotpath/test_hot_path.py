"""The hot path (`service.hotpath`) answers exactly what the routes answer, declines what it does
not handle, follows version switches and erasures made by other workers at once, records
impressions, and steps aside while Redis is down. Everything runs on real Redis servers; one
test runs a real uvicorn (uvloop) process, the loop production uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from reliability_helpers import AUTH, add_version, client_for

from models.contract.artifact import Artifact, load_artifact
from service.hotpath.app import RECOMMEND_QUERY, STORE_QUERY, parse_query
from tests.conftest import ROOT, RedisServer, free_port, wait_until
from training.publish import publish

RECOMMEND = "/recommend/{customer_id}"
STORE = "/personal-store/{customer_id}"


def answered(client: TestClient, route: str, by: str) -> float:
    """`microoffers_hot_path_answers_total` for one route and answerer, from /metrics."""
    for line in client.get("/metrics").text.splitlines():
        if (
            line.startswith("microoffers_hot_path_answers_total{")
            and f'route="{route}"' in line
            and f'answered_by="{by}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def published(artifact: Artifact, own_redis: RedisServer) -> redis.Redis:
    client = redis.Redis.from_url(own_redis.url)
    publish(artifact, client)
    yield client
    client.close()


def customers(artifact: Artifact, n: int) -> list[str]:
    known = [str(c) for c in artifact.customers.ids[:n]]
    return [*known, "never-seen-1", "never-seen-2"]


def test_hot_path_answers_exactly_what_the_routes_answer(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    queries = ["", "?k=3", "?k=25&include_purchased=true", "?include_purchased=false&k=7", "?k=100"]
    no_cap = {"cap_impressions": 1000}  # both answer each query: capping would change the second answer
    with (
        client_for(artifacts, own_redis.url, hot_path=False, **no_cap) as routes,
        client_for(artifacts, own_redis.url, **no_cap) as hot,
    ):
        for customer in customers(artifact, 30):
            for query in queries:
                expected = routes.get(f"/recommend/{customer}{query}")
                got = hot.get(f"/recommend/{customer}{query}")
                assert got.status_code == expected.status_code == 200
                assert got.json() == expected.json(), (customer, query)
                assert got.headers["content-type"] == "application/json"
                assert got.headers["x-content-type-options"] == "nosniff" and got.headers["x-request-id"]
            for query in ["", "?k=2", "?k=50"]:
                expected = routes.get(f"/personal-store/{customer}{query}")
                got = hot.get(f"/personal-store/{customer}{query}")
                assert got.json() == expected.json(), (customer, query)
        n_recommend = 32 * len(queries)
        assert answered(hot, RECOMMEND, "hot_path") == n_recommend
        assert answered(hot, STORE, "hot_path") == 32 * 3
        assert answered(routes, RECOMMEND, "hot_path") == 0  # turned off: the routes answered
        assert 'route="/recommend/{customer_id}",status="200"' in hot.get("/metrics").text


def test_unusual_requests_go_to_the_routes(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[0])
    with client_for(artifacts, own_redis.url) as client:
        bad = client.get(f"/recommend/{customer}?k=0")
        assert bad.status_code == 422 and "k" in bad.text
        assert client.get(f"/recommend/{customer}?k=abc").status_code == 422
        assert client.get("/recommend/bad%20id").status_code == 422
        assert client.get(f"/personal-store/{customer}?k=51").status_code == 422
        excluded = client.get(f"/recommend/{customer}?k=5")
        first = excluded.json()["items"][0]["item_id"]
        without = client.get(f"/recommend/{customer}?k=5&exclude={first}").json()
        assert first not in [i["item_id"] for i in without["items"]]
        assert client.get(f"/recommend/{customer}?k=5&k=6").status_code in (200, 422)
        assert answered(client, RECOMMEND, "route") >= 5
        assert answered(client, RECOMMEND, "hot_path") == 1


def test_parse_query_accepts_only_known_single_valid_parameters() -> None:
    assert parse_query(b"", RECOMMEND_QUERY) == {}
    assert parse_query(b"k=12&include_purchased=true", RECOMMEND_QUERY) == {b"k": 12, b"include_purchased": True}
    for refused in (
        b"k=0",
        b"k=101",
        b"k=1&k=2",
        b"k",
        b"k=1&",
        b"exclude=a",
        b"include_purchased=maybe",
        b"k=-1",
        b"k=%201",
    ):
        assert parse_query(refused, RECOMMEND_QUERY) is None, refused
    assert parse_query(b"k=50", STORE_QUERY) == {b"k": 50}
    assert parse_query(b"k=51", STORE_QUERY) is None


def test_a_new_version_is_served_by_the_first_request_after_the_switch(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[0])
    with client_for(artifacts, own_redis.url) as client:
        assert client.get(f"/recommend/{customer}").json()["model_version"] == artifact.version
        assert client.get(f"/personal-store/{customer}").json()["model_version"] == artifact.version
        newer = load_artifact(add_version(artifacts, "next"))
        publish(newer, published)
        assert client.get(f"/recommend/{customer}").json()["model_version"] == newer.version
        assert client.get(f"/personal-store/{customer}").json()["model_version"] == newer.version
        assert answered(client, RECOMMEND, "hot_path") == 2


def test_an_erasure_on_one_worker_empties_every_workers_cached_answers(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[3])
    with client_for(artifacts, own_redis.url) as worker_a, client_for(artifacts, own_redis.url) as worker_b:
        assert worker_b.get(f"/recommend/{customer}").json()["source"] == "personal"
        assert worker_b.get(f"/personal-store/{customer}").json()["source"] == "personal"
        assert worker_a.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
        # worker B never heard of the deletion, and answered this customer from its cache before
        assert worker_b.get(f"/recommend/{customer}").json()["source"] == "popular"
        assert worker_b.get(f"/personal-store/{customer}").json()["source"] == "popular"
        assert answered(worker_b, RECOMMEND, "hot_path") == 2


def test_impressions_of_hot_answers_reach_redis_and_cap_items(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[5])
    with client_for(artifacts, own_redis.url, cap_impressions=2) as client:
        first = [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]]
        assert wait_until(lambda: published.hlen(f"mo:live:{{{customer}}}:shown") == 3, timeout=5)
        assert [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]] == first
        # shown twice: capped, so the next answer rotates to other items
        third = [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]]
        assert not set(third) & set(first)
        counts = {k.decode(): int(v) for k, v in published.hgetall("mo:feedback:counts").items()}
        assert wait_until(
            lambda: (
                sum(int(v) for k, v in published.hgetall("mo:feedback:counts").items() if k.startswith(b"impression|"))
                == 9
            ),
            timeout=5,
        ), counts
        assert answered(client, RECOMMEND, "hot_path") == 3


def test_while_redis_is_down_the_routes_answer_from_the_fallback(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[1])
    with client_for(artifacts, own_redis.url) as client:
        fresh = client.get(f"/recommend/{customer}?k=5").json()
        assert fresh["degraded"] is False
        own_redis.stop()
        down = client.get(f"/recommend/{customer}?k=5")
        assert down.status_code == 200 and down.json()["degraded"] is True
        assert [i["item_id"] for i in down.json()["items"]] == [i["item_id"] for i in fresh["items"]]
        own_redis.start()  # empty (no persistence): publish again, as a recovering deployment would
        publish(artifact, redis.Redis.from_url(own_redis.url))
        assert wait_until(lambda: client.get(f"/recommend/{customer}?k=5").json()["degraded"] is False, timeout=15)
        assert answered(client, RECOMMEND, "route") >= 1
        hot_before = answered(client, RECOMMEND, "hot_path")
        client.get(f"/recommend/{customer}?k=5")
        assert answered(client, RECOMMEND, "hot_path") == hot_before + 1  # the hot path is back too


def test_a_real_uvicorn_worker_answers_on_the_hot_path(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    """uvloop's transports are not asyncio's: the hot path's own Redis connection must work on
    the loop production runs (the test client runs asyncio's)."""
    port = free_port()
    env = {
        **os.environ,
        "MICROOFFERS_ARTIFACTS": str(artifacts),
        "REDIS_URL": own_redis.url,
        "MICROOFFERS_ACCESS_LOG": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:create_app",
            "--factory",
            "--loop",
            "uvloop",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _up(base), timeout=60)
        customer = str(artifact.customers.ids[2])
        for _ in range(3):
            answer = httpx.get(f"{base}/recommend/{customer}?k=4", timeout=5)
            assert answer.status_code == 200 and len(answer.json()["items"]) == 4
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert (
            'microoffers_hot_path_answers_total{answered_by="hot_path",route="/recommend/{customer_id}"} 3.0' in metrics
        )
        assert 'answered_by="route",route="/recommend/{customer_id}"' not in metrics
    finally:
        proc.terminate()
        proc.wait(20)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_answers_of_capped_items_only_count_impressions(own_redis: RedisServer) -> None:
    """An answer whose items were all at the cap adds to the feedback counter without touching
    the customer's per-item counts; one with new items writes those."""
    import asyncio

    from service.hotpath.batcher import RedisBatcher
    from service.live import LivePolicy, RedisLiveState
    from service.live.redis_state import encode_impressions
    from service.live.state import Impressions
    from service.storage.stores import RedisStore

    async def scenario() -> None:
        store = RedisStore(own_redis.url)
        live = RedisLiveState(store.client, LivePolicy(cap_impressions=2))
        batcher = RedisBatcher(store, live, lambda: 1_800_000_000_000)
        at_cap = Impressions("c1", ("a", "b"), "personal", "recommend", "4", ("a", "b"))
        fresh = Impressions("c2", ("a", "b"), "personal", "recommend", "4", ("b",))
        for shown in (at_cap, fresh):
            batcher.shown(shown, encode_impressions(shown))
        await asyncio.sleep(0.1)  # the flush of impressions alone comes after a few ms
        batcher.connection.close()
        await store.close()

    client = redis.Redis.from_url(own_redis.url)
    client.set("mo:current", "v1")
    asyncio.run(scenario())
    assert int(client.hget("mo:feedback:counts", "impression|personal|recommend|4")) == 4
    assert client.hlen("mo:live:{c1}:shown") == 0
    assert set(client.hkeys("mo:live:{c2}:shown")) == {b"a"}
