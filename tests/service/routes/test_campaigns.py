"""`/campaigns` over both stores: create, list, read, delete; bad input named by field; the
audience and offers CSVs agree with the model (segment membership, `/outbound`'s offer) and
leave out forgotten customers; unavailable items are never offered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact
from models.rules.catalog import catalog_from_frame
from service.app import create_app
from tests.support.apps import settings_for
from tests.support.clocks import FixedClock
from tests.support.keys import AUTH
from tests.support.spreadsheet import csv_table

NOW = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)  # a Monday, 08:00 in London: quiet hours end at 09:00


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def client(artifacts: Path, redis_url: str | None, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(artifacts, redis_url), clock=clock)) as c:
        yield c


def _segment_members(artifact: Artifact, segment: int) -> list[str]:
    assert artifact.storefront is not None
    rows = (artifact.storefront.segment_of == segment).nonzero()[0]
    return [str(artifact.customers.ids[r]) for r in rows]


def _create(client: TestClient, **fields: object) -> dict[str, object]:
    body = {"name": "Spring", "channel": "email", "start": "2030-03-04", "send_time": "10:00", **fields}
    resp = client.post("/campaigns", json=body, headers=AUTH)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_created_campaign_is_listed_read_and_deleted(client: TestClient) -> None:
    made = _create(client, segment_id=0)
    assert made["id"] and made["created_by"] == "api" and made["item_id"] is None
    assert [c["id"] for c in client.get("/campaigns", headers=AUTH).json()["campaigns"]] == [made["id"]]
    assert client.get(f"/campaigns/{made['id']}", headers=AUTH).json() == made
    assert client.delete(f"/campaigns/{made['id']}", headers=AUTH).status_code == 204
    assert client.get(f"/campaigns/{made['id']}", headers=AUTH).status_code == 404
    assert client.delete(f"/campaigns/{made['id']}", headers=AUTH).status_code == 404


def test_campaigns_need_the_key(client: TestClient) -> None:
    assert client.get("/campaigns").status_code == 401
    assert client.post("/campaigns", json={}).status_code == 401


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"segment_id": 0, "customer_ids": ["12346"]}, "segment_id"),
        ({}, "segment_id"),
        ({"segment_id": 99_999}, "segment_id"),
        ({"segment_id": 0, "item_id": "NOPE1"}, "item_id"),
        ({"segment_id": 0, "channel": "fax"}, "channel"),
        ({"segment_id": 0, "start": "2030-03-04", "end": "2030-03-01"}, "end"),
        ({"segment_id": 0, "send_time": "25:00"}, "send_time"),
        ({"segment_id": 0, "start": "0094-06-14"}, "start"),
        ({"customer_ids": ["bad id!"]}, "customer_ids.0"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client: TestClient, fields: dict[str, object], field: str) -> None:
    body = {"name": "x", "channel": "email", "start": "2030-03-04", **fields}
    resp = client.post("/campaigns", json=body, headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]]
    assert client.get("/campaigns", headers=AUTH).json()["campaigns"] == []


def test_audience_is_the_segment_without_forgotten_customers(client: TestClient, artifact: Artifact) -> None:
    members = _segment_members(artifact, 1)
    gone = members[0]
    assert client.delete(f"/customers/{gone}", headers=AUTH).status_code == 204
    made = _create(client, segment_id=1)
    resp = client.get(f"/campaigns/{made['id']}/audience.csv", headers=AUTH)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    columns, rows = csv_table(resp.content)
    assert columns == ["campaign_id", "customer_id", "segment_id"]
    assert sorted(r["customer_id"] for r in rows) == sorted(members[1:])
    offers = csv_table(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)[1]
    assert gone not in {r["customer_id"] for r in offers} and offers


def test_best_offer_is_what_outbound_would_send_at_the_planned_time(client: TestClient, artifact: Artifact) -> None:
    customers = _segment_members(artifact, 2)[:5]
    made = _create(client, customer_ids=customers, channel="sms")
    columns, rows = csv_table(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)
    assert columns[:5] == ["campaign_id", "customer_id", "segment_id", "channel", "item_id"]
    assert sorted(r["customer_id"] for r in rows) == sorted(customers)
    for row in rows:
        assert row["channel"] == "sms" and row["segment_id"] == "2"
        asked = {"dry_run": "true", "now": row["send_at_utc"]}
        sent = client.get(f"/outbound/{row['customer_id']}", params=asked, headers=AUTH)
        assert sent.status_code == 200, sent.headers
        assert sent.json()["item"]["item_id"] == row["item_id"]
        assert row["send_at_local"].endswith(" 10:00")  # 10:00 on the customer's clock, quiet hours over


def test_a_recent_contact_moves_the_send_time_past_the_interval(client: TestClient, artifact: Artifact) -> None:
    customer = _segment_members(artifact, 0)[0]
    assert client.get(f"/outbound/{customer}?now=2030-03-04T12:00:00Z", headers=AUTH).status_code == 200
    made = _create(client, customer_ids=[customer])
    (row,) = csv_table(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)[1]
    assert datetime.fromisoformat(row["send_at_utc"]) == datetime(2030, 3, 7, 12, 0, tzinfo=UTC)  # + 3 days


def test_a_fixed_item_is_offered_only_while_it_can_be_delivered(
    client: TestClient, artifact: Artifact, clock: FixedClock
) -> None:
    catalog = catalog_from_frame(artifact.catalog)
    item = sorted(catalog)[0]
    customers = _segment_members(artifact, 0)[:3]
    made = _create(client, customer_ids=customers, item_id=item, end="2030-03-10")
    rows = csv_table(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)[1]
    assert {r["item_id"] for r in rows} == {item} and len(rows) == 3
    assert {r["title"] for r in rows} == {catalog[item].title}
    complained = {"customer_id": customers[0], "item_id": item, "type": "complaint"}
    assert client.post("/events", json=complained, headers=AUTH).status_code == 202
    rows = csv_table(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)[1]
    assert sorted(r["customer_id"] for r in rows) == sorted(customers[1:])
    clock.now = datetime(2030, 3, 11, 8, 0, tzinfo=UTC)  # the schedule has ended
    assert csv_table(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)[1] == []
