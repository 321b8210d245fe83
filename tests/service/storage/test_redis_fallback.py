"""Redis down, slow or restarted mid-traffic: the service keeps answering from its fallback,
flags it, and returns to Redis by itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from service.app import create_app
from service.settings import Settings
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from training.publish import publish

pytestmark = pytest.mark.redis


@pytest.fixture
def client(own_redis: RedisServer, trained_artifacts: Path) -> Iterator[TestClient]:
    publish(load_artifact(trained_artifacts), redis.Redis.from_url(own_redis.url))
    settings = Settings(artifacts=trained_artifacts, redis_url=own_redis.url, redis_timeout_s=0.2)
    with TestClient(create_app(settings)) as c:
        yield c


def _customer(trained_artifacts: Path) -> str:
    return str(load_artifact(trained_artifacts).customers.ids[3])


def _busy(server: RedisServer) -> bool:
    """Redis takes a connection but does not answer a PING within 50 ms (it runs DEBUG SLEEP)."""
    probe = redis.Redis.from_url(server.url, socket_timeout=0.05)
    try:
        probe.ping()
        return False
    except redis.TimeoutError:
        return True
    finally:
        probe.close()


def test_redis_down_answers_degraded_personal_list(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    healthy = client.get(f"/recommend/{cid}?k=5").json()
    own_redis.stop()
    resp = client.get(f"/recommend/{cid}?k=5")
    assert resp.status_code == 200
    body = resp.json()
    assert body["degraded"] is True and body["source"] == "personal"
    assert [i["item_id"] for i in body["items"]] == [i["item_id"] for i in healthy["items"]]
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["degraded"] is True


def test_service_returns_to_redis_after_restart(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    own_redis.stop()
    assert client.get(f"/recommend/{cid}").json()["degraded"] is True
    own_redis.start()  # same port, empty: publish again, as a recovering deployment would
    publish(load_artifact(trained_artifacts), redis.Redis.from_url(own_redis.url))
    assert wait_until(lambda: client.get(f"/recommend/{cid}").json()["degraded"] is False, timeout=10)
    ready = client.get("/ready").json()
    assert ready["degraded"] is False and ready["ready"] is True and ready["store_reachable"] is True


def test_slow_redis_counts_as_down(client: TestClient, own_redis: RedisServer, trained_artifacts: Path) -> None:
    cid = _customer(trained_artifacts)
    sleeper = redis.Redis.from_url(own_redis.url)
    blocker = threading.Thread(target=lambda: sleeper.execute_command("DEBUG", "SLEEP", 1.5))
    blocker.start()
    assert wait_until(lambda: _busy(own_redis), timeout=5), "Redis did not start sleeping"
    start = time.monotonic()
    body = client.get(f"/recommend/{cid}").json()
    elapsed = time.monotonic() - start
    blocker.join()
    assert body["degraded"] is True
    assert elapsed < 1.2  # answered from the fallback, not after Redis woke up


def test_no_errors_while_redis_restarts_under_traffic(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    """The traffic spans the three phases (answered from Redis, from the fallback while it is
    down, from Redis again once it is back and published to), and every answer is a 200."""
    cid = _customer(trained_artifacts)
    answers: list[tuple[int, bool | None]] = []  # (status, degraded) of each answer, in order
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            resp = client.get(f"/recommend/{cid}?k=3")
            answers.append((resp.status_code, resp.json().get("degraded") if resp.status_code == 200 else None))

    def answered_since(n: int, degraded: bool) -> bool:
        return any(flag is degraded for _, flag in answers[n:])

    t = threading.Thread(target=traffic)
    t.start()
    try:
        assert wait_until(lambda: answered_since(0, degraded=False)), "no answer from Redis"
        own_redis.stop()
        down_at = len(answers)
        assert wait_until(lambda: answered_since(down_at, degraded=True)), "no answer from the fallback"
        own_redis.start()  # empty (no persistence): publish again, as a recovering deployment would
        publish(load_artifact(trained_artifacts), redis.Redis.from_url(own_redis.url))
        back_at = len(answers)
        assert wait_until(lambda: answered_since(back_at, degraded=False)), "no answer from Redis after the restart"
    finally:
        stop.set()
        t.join()
    assert {status for status, _ in answers} == {200}


def test_redis_down_without_fallback_is_503_with_retry_hint(own_redis: RedisServer, tmp_path: Path) -> None:
    settings = Settings(artifacts=tmp_path / "none", redis_url=own_redis.url, redis_timeout_s=0.2)
    with TestClient(create_app(settings)) as c:
        own_redis.stop()
        resp = c.get("/recommend/123")
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert resp.json()["error"] == "unavailable"
        assert c.get("/ready").status_code == 503


def test_store_segments_and_similar_answer_degraded_while_redis_down(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    item = client.get(f"/recommend/{cid}?k=1").json()["items"][0]["item_id"]
    own_redis.stop()
    for url in (f"/personal-store/{cid}", "/segments", "/segments/0", "/segments/0/offers", f"/items/{item}/similar"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.json()["degraded"] is True, url
