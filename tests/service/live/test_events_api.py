"""POST /events: authentication, validation, durability across a restart, concurrency, metrics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract.artifact import Artifact
from service.settings import Settings
from tests.support.clocks import FixedClock
from tests.support.keys import API_KEY, AUTH
from tests.support.live import AppFactory, item_ids, known_customer, post


def _event(**fields: object) -> dict[str, object]:
    return {"customer_id": "c1", "item_id": "85123A", "type": "click", **fields}


def _log_length(settings: Settings) -> int:
    """Events in the durable log: the Redis Stream, or lines of the embedded store's file."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        try:
            return int(client.xlen(contract.EVENTS_STREAM))
        finally:
            client.close()
    assert settings.events_log is not None
    return len(settings.events_log.read_bytes().splitlines()) if settings.events_log.exists() else 0


def test_no_key_configured_means_writes_are_off(make_client: AppFactory) -> None:
    with make_client(api_key=None) as client:
        resp = client.post("/events", json=_event(), headers=AUTH)
    assert resp.status_code == 403 and "MICROOFFERS_API_KEY" in resp.json()["message"]


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", f"Basic {API_KEY}", f"Bearer {API_KEY}x"])
def test_missing_or_wrong_key_is_401(client: TestClient, header: str | None) -> None:
    resp = client.post("/events", json=_event(), headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert API_KEY not in resp.text


def test_rotated_keys_are_all_accepted(make_client: AppFactory) -> None:
    with make_client(api_key=f"old-key-000000000000,{API_KEY}") as client:
        for key in ("old-key-000000000000", API_KEY):
            assert client.post("/events", json=_event(), headers={"Authorization": f"Bearer {key}"}).status_code == 202


def test_single_event_and_batch_answer_202_with_count(client: TestClient) -> None:
    assert post(client, _event())["accepted"] == 1
    batch = post(client, _event(), _event(type="view"), _event(type="purchase", quantity=3))
    assert batch["accepted"] == 3 and len(set(batch["ids"])) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_event(type="teleport"), "type"),
        (_event(customer_id="bad id"), "customer_id"),
        (_event(item_id=""), "item_id"),
        (_event(quantity=0), "quantity"),
        (_event(colour="red"), "colour"),
        (_event(timestamp="yesterday-ish"), "timestamp"),
        (_event(timestamp="2999-01-01T00:00:00Z"), "timestamp"),
        (_event(timestamp="1999-12-31T23:59:59Z"), "timestamp"),
        (_event(timestamp=-1), "timestamp"),
        ({"events": [_event(), _event(item_id="<script>")]}, "events.1.item_id"),
        ({"events": [_event()] * 51}, "events"),
        ({"events": []}, "events"),
        ([_event()], "body"),
    ],
)
def test_invalid_events_get_422_naming_the_field(
    client: TestClient, settings: Settings, body: object, field: str
) -> None:
    resp = client.post("/events", json=body, headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == field
    assert _log_length(settings) == 0


def test_timestamp_slightly_ahead_is_accepted_far_ahead_refused(client: TestClient, clock: FixedClock) -> None:
    assert post(client, _event(timestamp=(clock.now + timedelta(seconds=299)).isoformat()))["accepted"] == 1
    late = client.post("/events", json=_event(timestamp=(clock.now + timedelta(seconds=301)).isoformat()), headers=AUTH)
    assert late.status_code == 422


def test_not_json_is_422(client: TestClient) -> None:
    resp = client.post("/events", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body"


def test_events_survive_a_restart(make_client: AppFactory, settings: Settings, artifact: Artifact) -> None:
    customer = known_customer(artifact, 10)
    with make_client() as client:
        top = item_ids(client, customer)[0]
        post(
            client,
            {"customer_id": customer, "item_id": top, "type": "return"},
            {"customer_id": "fresh-1", "item_id": top, "type": "purchase"},
        )
    assert _log_length(settings) == 2
    with make_client() as client:  # a new process reads the same log / Redis
        assert top not in item_ids(client, customer, k=100)
        assert client.get("/recommend/fresh-1").json()["source"] == "personal"
        assert client.get("/feedback/summary").json()["total"]["returns"] == 1


@pytest.mark.parametrize("store_kind", ["embedded"])  # the JSONL log is the embedded store's
def test_embedded_log_survives_a_torn_last_line(
    make_client: AppFactory, settings: Settings, artifact: Artifact
) -> None:
    customer = known_customer(artifact, 11)
    with make_client() as client:
        top = item_ids(client, customer)[0]
        post(client, {"customer_id": customer, "item_id": top, "type": "dismiss"})
    assert settings.events_log is not None
    with open(settings.events_log, "ab") as fh:
        fh.write(b'{"id": "99999999999999-0", "customer_')  # a crash mid-write
    with make_client() as client:
        assert top not in item_ids(client, customer, k=100)
        post(client, {"customer_id": customer, "item_id": top, "type": "click"})


def test_concurrent_events_for_one_customer_lose_nothing(client: TestClient, settings: Settings) -> None:
    def send(n: int) -> int:
        events = [{"customer_id": "busy", "item_id": f"item{n % 3}", "type": "purchase"} for _ in range(5)]
        return int(post(client, *events)["accepted"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(send, range(40))) == 200
    assert client.get("/feedback/summary").json()["total"]["purchases"] == 200
    assert _log_length(settings) == 200


def test_metrics_and_summary_attribute_clicks_to_the_section_that_showed_them(
    client: TestClient, artifact: Artifact
) -> None:
    customer = known_customer(artifact, 12)
    shown = item_ids(client, customer, k=4)
    post(
        client,
        {"customer_id": customer, "item_id": shown[0], "type": "click"},
        {"customer_id": customer, "item_id": shown[1], "type": "purchase"},
        {"customer_id": customer, "item_id": "85123A", "type": "dismiss", "section": "email"},
    )
    section = client.get("/feedback/summary").json()["by_section"]
    assert section["recommend"]["impressions"] == 4 and section["recommend"]["clicks"] == 1
    assert section["recommend"]["click_through_rate"] == 0.25 and section["recommend"]["conversion_rate"] == 0.25
    assert section["email"]["dismissals"] == 1 and section["email"]["click_through_rate"] is None
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    segment = str(artifact.storefront.segment_of[12]) if artifact.storefront is not None else "unknown"
    line = (
        f'microoffers_feedback_events_total{{section="recommend",segment="{segment}",source="personal",'
        f'type="click"}} 1.0'
    )
    assert line in metrics.text


def test_openapi_documents_the_event_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert len(body["oneOf"]) == 2 and "type" in body["oneOf"][0]["properties"]
    assert "/outbound/{customer_id}" in spec["paths"] and "/feedback/summary" in spec["paths"]


@pytest.mark.parametrize("store_kind", ["embedded"])  # the Redis log is checked by `events export`
def test_log_lines_are_the_export_format(client: TestClient, settings: Settings) -> None:
    post(client, _event(type="purchase", quantity=2, timestamp="2024-02-29T10:00:00Z", section="email"))
    assert settings.events_log is not None
    record = orjson.loads(settings.events_log.read_bytes().splitlines()[0])
    assert {k: v for k, v in record.items() if k != "id"} == {
        "customer_id": "c1",
        "item_id": "85123A",
        "type": "purchase",
        "timestamp": "2024-02-29T10:00:00.000Z",
        "quantity": 2,
        "section": "email",
    }


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_unusable_log_refuses_events_but_keeps_serving(
    make_client: AppFactory, tmp_path: Path, artifact: Artifact
) -> None:
    with make_client(events_log=tmp_path) as client:  # a directory: cannot be opened as the log
        assert client.post("/events", json=_event(), headers=AUTH).status_code == 503
        assert client.get(f"/recommend/{known_customer(artifact)}").status_code == 200
