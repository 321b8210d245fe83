"""Forgetting is a property of the system, not of the DELETE route: after it, every reader treats
the customer as one never met and records nothing, every writer refuses them, and a publish or an
export brings nothing back; a restore is explicit. Each test is a bug seen on main (issue 12).
Run against the embedded store and a real Redis (with the hot path in front)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli
from models import contract
from models.contract.artifact import Artifact, load_artifact
from models.rules.privacy import append_forgotten, forgotten_path, read_forgotten
from tests.support.apps import add_version, client_for
from tests.support.keys import AUTH
from tests.support.live import EMPTY_LIVE
from tests.support.redis_server import RedisServer
from training.publish import publish


@pytest.fixture
def client(artifacts: Path, redis_url: str | None) -> Iterator[TestClient]:
    with client_for(artifacts, redis_url) as c:
        yield c


def _event(customer: str, item: str, kind: str = "purchase") -> dict[str, object]:
    return {"customer_id": customer, "item_id": item, "type": kind}


def _keys_naming(redis_url: str, customer: str) -> list[str]:
    """Every Redis key that names the id as one of its `:` parts (the deny list holds it as a
    member of its set and as its marker key, `contract.forgotten_marker_key`, which is part of
    the deny list; a version name such as 20261203T123511Z may contain the digits by chance)."""
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).scan_iter(count=1000)]
    marker = contract.forgotten_marker_key(customer)
    return [k for k in keys if customer in re.split(r"[:{}]", k) and k != marker]


def _forget(client: TestClient, customer: str) -> None:
    assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204


def test_reads_after_forgetting_record_nothing(client: TestClient, artifact: Artifact, redis_url: str | None) -> None:
    customer = str(artifact.customers.ids[3])
    _forget(client, customer)
    for _ in range(3):
        assert client.get(f"/recommend/{customer}").json()["source"] == "popular"
        assert client.get(f"/personal-store/{customer}").json()["source"] == "popular"
    batch = client.post("/recommend/batch", json={"customer_ids": [customer]}).json()
    assert batch["results"][0]["source"] == "popular"
    outbound = client.get(f"/outbound/{customer}", headers=AUTH)
    assert outbound.status_code == 204 and outbound.headers["X-Outbound-Reason"] == "forgotten"
    live = client.get(f"/customers/{customer}/export", headers=AUTH).json()["live"]
    assert live == EMPTY_LIVE
    if redis_url:
        assert _keys_naming(redis_url, customer) == []


def test_events_of_a_forgotten_customer_answer_409_and_change_nothing(
    client: TestClient, artifact: Artifact, redis_url: str | None
) -> None:
    customer, other = str(artifact.customers.ids[4]), "brand-new-customer"
    item = str(artifact.items.ids[0])
    _forget(client, customer)
    single = client.post("/events", json=_event(customer, item), headers=AUTH)
    assert single.status_code == 409, single.text
    assert single.json()["error"] == "forgotten" and customer in single.json()["message"]
    assert "restore" in single.json()["message"]
    mixed = client.post("/events", json={"events": [_event(other, item), _event(customer, item)]}, headers=AUTH)
    assert mixed.status_code == 409
    assert mixed.json()["errors"][0]["field"] == "events.1.customer_id"
    assert client.get(f"/recommend/{customer}").json()["source"] == "popular"
    assert client.get(f"/recommend/{other}").json()["source"] == "popular"  # the batch was refused whole
    if redis_url:
        assert _keys_naming(redis_url, customer) == []
        assert redis.Redis.from_url(redis_url).xlen(contract.EVENTS_STREAM) == 0


def test_export_of_a_forgotten_customer_holds_none_of_their_data(client: TestClient, artifact: Artifact) -> None:
    customer = str(artifact.customers.ids[5])
    assert client.get(f"/customers/{customer}/export", headers=AUTH).json()["training"]["purchases"]
    _forget(client, customer)
    body = client.get(f"/customers/{customer}/export", headers=AUTH).json()
    assert body["forgotten"] is True
    assert body["training"] is None and body["cached"] == [] and body["segment"] is None
    assert body["live"]["events"] == []


def test_restore_is_explicit_keyed_and_brings_no_data_back(
    client: TestClient, artifacts: Path, artifact: Artifact, redis_url: str | None
) -> None:
    customer = str(artifact.customers.ids[6])
    item = str(artifact.items.ids[0])
    _forget(client, customer)
    assert client.post(f"/customers/{customer}/restore").status_code == 401
    assert client.post(f"/customers/{customer}/restore", headers=AUTH).status_code == 204
    assert customer not in read_forgotten(forgotten_path(artifacts))
    if redis_url:
        assert not redis.Redis.from_url(redis_url).sismember(contract.FORGOTTEN_KEY, customer)
    body = client.get(f"/customers/{customer}/export", headers=AUTH).json()
    assert body["forgotten"] is False and body["cached"] == [] and body["training"]["known"] is False
    assert client.get(f"/recommend/{customer}").json()["source"] == "popular"
    assert client.post("/events", json=_event(customer, item), headers=AUTH).status_code == 202
    # their first purchase after the restore is all the model knows of them: trained rows stay forgotten
    assert client.get(f"/customers/{customer}/export", headers=AUTH).json()["training"]["purchases"] == []


@pytest.mark.redis
def test_a_forgotten_customer_is_not_published_again(
    artifacts: Path, artifact: Artifact, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    """Forgotten in the embedded demo (only the file knows), then published into a fresh Redis:
    the CLI's publish merges the file into the Redis set and writes nothing of them."""
    customer = str(artifact.customers.ids[8])
    with client_for(artifacts) as embedded:
        _forget(embedded, customer)
    result = CliRunner().invoke(cli, ["publish", "--artifacts", str(artifacts), "--redis-url", redis_server.url])
    assert result.exit_code == 0, result.output
    assert redis_client.sismember(contract.FORGOTTEN_KEY, customer)
    assert _keys_naming(redis_server.url, customer) == []
    with client_for(artifacts, redis_server.url) as served:
        assert served.get(f"/recommend/{customer}").json()["source"] == "popular"
        assert served.get(f"/personal-store/{customer}").json()["source"] == "popular"


def test_preview_and_csv_show_nothing_of_a_forgotten_customer(client: TestClient, artifact: Artifact) -> None:
    customer = str(artifact.customers.ids[9])
    basic = ("marketer", AUTH["Authorization"].removeprefix("Bearer "))
    csv_before = client.get("/preview/offers.csv", auth=basic).text
    assert f"\n{customer}," in csv_before
    _forget(client, customer)
    page = client.get("/preview/customers", params={"customer_id": customer}, auth=basic)
    assert page.status_code == 200 and "was forgotten" in page.text
    assert "history-table" not in page.text
    assert f"\n{customer}," not in client.get("/preview/offers.csv", auth=basic).text


def test_a_restored_customer_stays_out_of_the_served_models_csv(artifacts: Path, artifact: Artifact) -> None:
    """Found by the model-based test: forgotten before the service started (the file only),
    restored, then the every-customer CSV of the model still being served listed their old offers."""
    customer = str(artifact.customers.ids[10])
    basic = ("marketer", AUTH["Authorization"].removeprefix("Bearer "))
    append_forgotten(forgotten_path(artifacts), [customer])
    with client_for(artifacts) as client:
        assert client.post(f"/customers/{customer}/restore", headers=AUTH).status_code == 204
        assert f"\n{customer}," not in client.get("/preview/offers.csv", auth=basic).text
        assert client.get(f"/recommend/{customer}").json()["source"] == "popular"


@pytest.mark.redis
def test_forgetting_reaches_versions_that_are_only_expiring(
    artifacts: Path, artifact: Artifact, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    """Found by the model-based test: after three publishes the oldest version's keys expire in
    a day, it left the versions list, and DELETE did not reach the documents it still held."""
    customer = str(artifact.customers.ids[11])
    for suffix in ("", "b", "c"):
        version = add_version(artifacts, suffix) if suffix else artifacts
        publish(load_artifact(version), redis_client)
    assert redis_client.smembers(contract.EXPIRING_KEY), "the oldest version should be expiring"
    with client_for(artifacts, redis_server.url) as client:
        assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
    assert _keys_naming(redis_server.url, customer) == []
