"""Writes are rate limited per key (429 with Retry-After); bodies over the size limit are refused
with 413 JSON before any handler reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models.contract.artifact import Artifact
from service.http.ratelimit import RateLimiter
from tests.support.apps import client_for
from tests.support.keys import API_KEY, AUTH


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2.0, burst=3, clock=clock)
    assert [limiter.wait_s("key1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_s("key1") == pytest.approx(0.5)
    assert limiter.wait_s("key2") == 0.0  # each key has its own bucket
    clock.now += 0.5
    assert limiter.wait_s("key1") == 0.0
    clock.now += 60
    assert [limiter.wait_s("key1") for _ in range(4)][-1] > 0  # refills to the burst, no further


def _event(artifact: Artifact) -> dict[str, object]:
    return {"customer_id": "c1", "item_id": str(artifact.items.ids[0]), "type": "view"}


def test_writes_past_the_burst_get_429_with_retry_after(artifacts: Path, artifact: Artifact) -> None:
    other = "second-key-0123456789abc"
    with client_for(artifacts, api_key=f"{API_KEY},{other}", write_burst=3, write_rate_per_s=0.01) as client:
        codes = [client.post("/events", json=_event(artifact), headers=AUTH).status_code for _ in range(3)]
        refused = client.post("/events", json=_event(artifact), headers=AUTH)
        assert codes == [202, 202, 202]
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == "rate_limited"
        assert client.post("/admin/reload", headers=AUTH).status_code == 429  # one bucket for all writes
        assert client.get("/customers/c1/export", headers=AUTH).status_code == 429
        assert (
            client.post("/events", json=_event(artifact), headers={"Authorization": f"Bearer {other}"}).status_code
            == 202
        )
        assert client.get("/recommend/c1").status_code == 200  # reads are not limited
        assert "microoffers_rate_limited_total 3.0" in client.get("/metrics").text


@pytest.fixture
def small_body_client(artifacts: Path) -> Iterator:  # type: ignore[type-arg]
    with client_for(artifacts, max_body_bytes=2048) as client:
        yield client


def test_declared_body_over_the_limit_is_413(small_body_client) -> None:  # type: ignore[no-untyped-def]
    ids = [f"customer-{n:05d}" for n in range(200)]  # ~3 KB of JSON
    resp = small_body_client.post("/recommend/batch", json={"customer_ids": ids})
    assert resp.status_code == 413
    assert resp.json() == {"error": "too_large", "message": "request body larger than 2048 bytes"}
    assert small_body_client.post("/recommend/batch", json={"customer_ids": ids[:20]}).status_code == 200


def test_streamed_body_over_the_limit_is_413(small_body_client) -> None:  # type: ignore[no-untyped-def]
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"customer_ids": ['
        for n in range(300):
            yield f'"customer-{n:05d}",'.encode()
        yield b'"last"]}'

    resp = small_body_client.post("/recommend/batch", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["error"] == "too_large"
    resp = small_body_client.post("/events", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["error"] == "too_large"
