"""GET /customers/{id}/export returns everything stored about a customer; DELETE /customers/{id}
forgets them at once (cached lists, live state, logged events, segment sample) and puts them on
the deny list. Run against the embedded store and a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract.artifact import Artifact, load_artifact
from models.contract.documents import customer_doc, personal_documents
from models.contract.store_documents import store_doc
from models.rules.privacy import append_forgotten, forgotten_path, read_forgotten
from tests.support.apps import add_version, client_for
from tests.support.keys import AUTH
from tests.support.redis_reads import entries
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from training.publish import publish


@pytest.fixture
def client(artifacts: Path, redis_url: str | None) -> Iterator[TestClient]:
    with client_for(artifacts, redis_url) as c:
        yield c


def _sampled_customer(client: TestClient) -> tuple[int, str]:
    """A customer shown in a segment's sample (so forgetting them must edit the segment)."""
    segment = client.get("/segments").json()["segments"][0]["id"]
    return segment, client.get(f"/segments/{segment}").json()["sample_customers"][0]


def _post(client: TestClient, customer: str, item: str, kind: str) -> None:
    resp = client.post("/events", json={"customer_id": customer, "item_id": item, "type": kind}, headers=AUTH)
    assert resp.status_code == 202, resp.text


def _logged_customers(artifacts: Path, redis_url: str | None) -> list[str]:
    if redis_url:
        logged = entries(redis.Redis.from_url(redis_url), contract.EVENTS_STREAM)
        return [fields[b"customer_id"].decode() for _, fields in logged]
    log = artifacts / "events" / "events.jsonl"
    return [orjson.loads(line)["customer_id"] for line in log.read_bytes().splitlines() if line.strip()]


def test_export_holds_training_live_cached_and_segment(
    client: TestClient, artifact: Artifact, redis_url: str | None
) -> None:
    segment, customer = _sampled_customer(client)
    item = client.get(f"/recommend/{customer}?k=1").json()["items"][0]["item_id"]
    _post(client, customer, item, "purchase")
    _post(client, customer, item, "dismiss")
    resp = client.get(f"/customers/{customer}/export", headers=AUTH)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    row = artifact.customers.row(customer)
    assert row is not None
    trained_items = set(
        artifact.items.ids[
            artifact.history.indices[artifact.history.indptr[row] : artifact.history.indptr[row + 1]]
        ].tolist()
    )
    assert body["forgotten"] is False and body["training"]["known"] is True
    assert {p["item_id"] for p in body["training"]["purchases"]} == trained_items
    assert all(p["occasions"] >= 1 and p["first_purchase"] <= p["last_purchase"] for p in body["training"]["purchases"])
    assert [(e["item_id"], e["type"]) for e in body["live"]["events"]] == [(item, "purchase"), (item, "dismiss")]
    assert body["live"]["purchases"] == {item: 1} and item in body["live"]["suppressed"]
    # Redis also holds the pre-rendered answer `publish` writes for the hot path; the embedded store builds none
    names = personal_documents(customer) if redis_url else (customer_doc(customer), store_doc(customer))
    assert {(c["model_version"], c["name"]) for c in body["cached"]} == {(artifact.version, n) for n in names}
    assert body["segment"]["id"] == segment and body["segment"]["model_version"] == artifact.version


def test_delete_forgets_everything_at_once(client: TestClient, artifacts: Path, redis_url: str | None) -> None:
    segment, customer = _sampled_customer(client)
    item = client.get(f"/recommend/{customer}?k=1").json()["items"][0]["item_id"]
    _post(client, customer, item, "purchase")
    _post(client, "someone-else", item, "click")
    assert client.get(f"/recommend/{customer}").json()["source"] == "personal"

    assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204

    reco = client.get(f"/recommend/{customer}").json()
    assert reco["source"] == "popular"
    assert reco["items"] == client.get("/recommend/never-seen-before").json()["items"]
    store = client.get(f"/personal-store/{customer}").json()
    assert store["source"] == "popular" and store["loyalty"]["tier"] == "new"
    assert customer not in client.get(f"/segments/{segment}").json()["sample_customers"]
    body = client.get(f"/customers/{customer}/export", headers=AUTH).json()
    assert body["forgotten"] is True and body["cached"] == [] and body["segment"] is None
    assert body["live"]["events"] == [] and body["live"]["purchases"] == {}
    assert _logged_customers(artifacts, redis_url) == ["someone-else"]
    assert customer in read_forgotten(forgotten_path(artifacts))
    if redis_url:
        assert redis.Redis.from_url(redis_url).sismember(contract.FORGOTTEN_KEY, customer)


def test_forgotten_customer_stays_forgotten_after_restart(
    artifacts: Path, redis_url: str | None, artifact: Artifact
) -> None:
    customer = str(artifact.customers.ids[7])
    with client_for(artifacts, redis_url) as client:
        assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
    with client_for(artifacts, redis_url) as client:  # the artifact on disk still has them
        assert client.get(f"/recommend/{customer}").json()["source"] == "popular"
        assert client.get(f"/personal-store/{customer}").json()["source"] == "popular"


def test_delete_is_idempotent_for_unknown_ids(client: TestClient, artifacts: Path) -> None:
    for _ in range(2):
        assert client.delete("/customers/nobody-we-know", headers=AUTH).status_code == 204
    assert read_forgotten(forgotten_path(artifacts)) == {"nobody-we-know"}
    empty = client.get("/customers/nobody-we-know/export", headers=AUTH).json()
    assert empty["forgotten"] is True and empty["training"] is None
    assert empty["cached"] == [] and empty["live"]["events"] == []


def test_privacy_endpoints_need_the_key(client: TestClient, artifacts: Path, redis_url: str | None) -> None:
    assert client.get("/customers/13085/export").status_code == 401
    assert client.delete("/customers/13085", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/customers/bad id!/export", headers=AUTH).status_code == 422
    with client_for(artifacts, redis_url, api_key=None) as closed:
        assert closed.delete("/customers/13085", headers=AUTH).status_code == 403
        assert closed.get("/customers/13085/export", headers=AUTH).status_code == 403


@pytest.mark.redis
def test_delete_reaches_every_held_version_and_later_publishes(
    artifacts: Path, artifact: Artifact, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[9])
    publish(artifact, redis_client)
    newer = load_artifact(add_version(artifacts, "newer"))
    publish(newer, redis_client)
    with client_for(artifacts, redis_server.url) as client:
        assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
    for version in (artifact.version, newer.version):
        assert redis_client.get(contract.customer_key(version, customer)) is None
        assert redis_client.get(contract.document_key(version, f"store:{customer}")) is None
    assert redis_client.get(contract.customer_key(newer.version, str(artifact.customers.ids[10]))) is not None
    again = load_artifact(add_version(artifacts, "republished"))  # trained before the DELETE: still has them
    publish(again, redis_client)
    assert redis_client.get(contract.customer_key(again.version, customer)) is None


@pytest.mark.redis
def test_fallback_does_not_bring_a_forgotten_customer_back(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer
) -> None:
    customer = str(artifact.customers.ids[11])
    publish(artifact, redis.Redis.from_url(own_redis.url))
    with client_for(artifacts, own_redis.url) as client:
        assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
        own_redis.stop()
        reco = client.get(f"/recommend/{customer}").json()
        assert reco["degraded"] is True and reco["source"] == "popular"
        assert client.delete("/customers/someone", headers=AUTH).status_code == 503  # cannot be complete


@pytest.mark.redis
def test_events_refused_with_retry_hint_while_redis_is_down(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer
) -> None:
    publish(artifact, redis.Redis.from_url(own_redis.url))
    event = {"customer_id": "c1", "item_id": str(artifact.items.ids[0]), "type": "click"}
    with client_for(artifacts, own_redis.url) as client:
        own_redis.stop()
        resp = client.post("/events", json=event, headers=AUTH)
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert resp.json()["error"] == "unavailable"


def test_watch_applies_erasures_made_by_another_worker(artifacts: Path, artifact: Artifact) -> None:
    customer = str(artifact.customers.ids[12])
    with client_for(artifacts, reload_interval_s=0.1) as client:
        assert client.get(f"/recommend/{customer}").json()["source"] == "personal"
        append_forgotten(forgotten_path(artifacts), [customer])  # what another worker's DELETE writes
        assert wait_until(lambda: client.get(f"/recommend/{customer}").json()["source"] == "popular")
