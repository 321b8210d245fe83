"""Each event's effect is visible on the very next request, over both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact
from service.core.personalize import Personalizer
from tests.support.clocks import FixedClock
from tests.support.keys import AUTH
from tests.support.live import AppFactory, item_ids, known_customer, post


def test_purchase_leaves_discovery_but_stays_purchasable(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact)
    top = item_ids(client, customer)[0]
    post(client, {"customer_id": customer, "item_id": top, "type": "purchase"})
    assert top not in item_ids(client, customer, k=100)
    assert top in item_ids(client, customer, k=100, include_purchased="true")


def test_new_customer_gets_personal_offers_after_first_purchases(client: TestClient, artifact: Artifact) -> None:
    popular = client.get("/recommend/newcomer-1", params={"k": 10}).json()
    assert popular["source"] == "popular"
    bought = [str(artifact.items.ids[i]) for i in artifact.history[3].indices[:3]]
    post(client, *({"customer_id": "newcomer-1", "item_id": item, "type": "purchase"} for item in bought))
    body = client.get("/recommend/newcomer-1", params={"k": 10}).json()
    assert body["source"] == "personal"
    items = [i["item_id"] for i in body["items"]]
    assert len(items) == 10 and not set(items) & set(bought)
    assert items != [i["item_id"] for i in popular["items"]]


def test_dismissed_item_is_hidden_for_the_configured_time(
    client: TestClient, artifact: Artifact, clock: FixedClock
) -> None:
    customer = known_customer(artifact, 1)
    first = item_ids(client, customer)[0]
    post(client, {"customer_id": customer, "item_id": first, "type": "dismiss"})
    assert first not in item_ids(client, customer, k=100)
    clock.advance(599)
    assert first not in item_ids(client, customer, k=100)
    clock.advance(2)  # dismiss_suppress_s = 600
    assert item_ids(client, customer)[0] == first


def test_dismissal_is_per_customer(client: TestClient, artifact: Artifact) -> None:
    other = known_customer(artifact, 2)
    before = item_ids(client, other, k=100)
    post(client, {"customer_id": known_customer(artifact, 1), "item_id": before[0], "type": "dismiss"})
    assert item_ids(client, other, k=100) == before


def test_return_suppresses_item_and_pushes_similar_ones_down(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact, 4)
    before = item_ids(client, customer, k=30)
    returned = before[0]
    similar = Personalizer(artifact).similar_items([returned], per_item=20)  # similar_pushdown default 20
    assert similar & set(before[1:]), "the test needs a neighbour of the returned item in the list"
    post(client, {"customer_id": customer, "item_id": returned, "type": "return"})
    after = item_ids(client, customer, k=100)
    assert returned not in after
    positions = [n for n, item in enumerate(after) if item in similar]
    others = [n for n, item in enumerate(after) if item not in similar]
    assert positions and min(positions) > max(others)


def test_complaint_suppresses_and_is_counted_per_item(client: TestClient, artifact: Artifact) -> None:
    a, b = known_customer(artifact, 5), known_customer(artifact, 6)
    item = item_ids(client, a)[0]
    post(
        client,
        {"customer_id": a, "item_id": item, "type": "complaint"},
        {"customer_id": b, "item_id": item, "type": "complaint"},
        {"customer_id": b, "item_id": item, "type": "return"},
    )
    assert item not in item_ids(client, a, k=100)
    worst = client.get("/feedback/summary").json()["most_complained"][0]
    assert worst == {"item_id": item, "complaints": 2, "returns": 1}


def test_invalid_batch_changes_nothing(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact, 7)
    top = item_ids(client, customer)[0]
    resp = client.post(
        "/events",
        headers=AUTH,
        json={
            "events": [
                {"customer_id": customer, "item_id": top, "type": "dismiss"},
                {"customer_id": customer, "item_id": top, "type": "teleport"},
            ]
        },
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "events.1.type"
    assert item_ids(client, customer)[0] == top
    assert client.get("/feedback/summary").json()["total"]["dismissals"] == 0


@pytest.mark.redis
@pytest.mark.parametrize("store_kind", ["redis"])
def test_redis_without_local_artifact_still_applies_events(
    make_client: AppFactory, tmp_path: Path, artifact: Artifact
) -> None:
    """Factors are optional with Redis: no fold-in then, but purchases and dismissals still count."""
    customer = known_customer(artifact, 13)
    with make_client(artifacts=tmp_path / "nothing-here") as client:
        top = item_ids(client, customer)[0]
        post(client, {"customer_id": customer, "item_id": top, "type": "purchase"})
        assert top not in item_ids(client, customer, k=100)
        post(client, {"customer_id": "newcomer-2", "item_id": top, "type": "purchase"})
        assert client.get("/recommend/newcomer-2").json()["source"] == "popular"
