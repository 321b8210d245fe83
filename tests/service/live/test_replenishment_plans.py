"""Replenishment plans on both live-state backends: offered on the store's buy-again items,
subscribed and unsubscribed by events, reminded of through `/outbound` when due and allowed by
the contact policy; nothing for a forgotten customer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract.artifact import Artifact
from models.rules.contact import ContactPolicy, next_allowed_contact, timezone_for
from models.rules.wording import plan_text
from service.settings import Settings
from tests.support.keys import AUTH
from tests.support.live import AppFactory, post
from tests.support.replenishment import PlanOf, plans_of


def buy_again(client: TestClient, customer: str) -> dict[str, dict[str, Any]]:
    """Item -> its buy-again entry in the customer's store."""
    resp = client.get(f"/personal-store/{customer}", params={"k": 50})
    assert resp.status_code == 200, resp.text
    sections = {s["id"]: s["items"] for s in resp.json()["sections"]}
    return {i["item_id"]: i for i in sections.get("buy_again", [])}


def shown_plan(client: TestClient, artifact: Artifact) -> tuple[PlanOf, dict[str, Any]]:
    """The first plan the store shows, with its entry."""
    for p in plans_of(artifact):
        entry = buy_again(client, p.customer_id).get(p.item_id)
        if entry is not None:
            return p, entry
    raise AssertionError("no plan of the slice reaches a store's buy_again section")


def due_at(p: PlanOf, settings: Settings) -> str:
    """The first moment the plan's reminder may go out: its next reorder, then the contact policy."""
    policy = ContactPolicy.from_settings(settings)
    moment = next_allowed_contact(p.country, p.moment(p.plan.next_day), policy, None)
    assert p.plan.due(p.occasions, moment.timestamp() / 86_400), "the policy pushed it past the rhythm"
    return moment.isoformat()


def outbound(client: TestClient, customer: str, now: str, dry_run: bool = True) -> Any:
    return client.get(f"/outbound/{customer}", params={"now": now, "dry_run": str(dry_run).lower()}, headers=AUTH)


def test_a_steady_rhythm_is_offered_as_a_plan_on_the_buy_again_item(client: TestClient, artifact: Artifact) -> None:
    p, entry = shown_plan(client, artifact)
    assert entry["plan"] == {
        "every_days": round(p.plan.interval_days, 1),
        "next_on": p.next_on.isoformat(),
        "status": "offered",
        "text": plan_text(p.plan.interval_days, p.next_on),
    }
    assert entry["plan"]["text"].startswith("every ") and ", next on " in entry["plan"]["text"]
    without = [i for i in buy_again(client, p.customer_id).values() if i["plan"] is None]
    assert all("you usually reorder" not in i["reason"] for i in without)  # no plan without a rhythm


def test_subscribe_and_unsubscribe_events_mark_the_plan(client: TestClient, artifact: Artifact) -> None:
    p, _ = shown_plan(client, artifact)
    post(client, {"customer_id": p.customer_id, "item_id": p.item_id, "type": "subscribe"})
    assert buy_again(client, p.customer_id)[p.item_id]["plan"]["status"] == "subscribed"
    post(client, {"customer_id": p.customer_id, "item_id": p.item_id, "type": "unsubscribe"})
    assert buy_again(client, p.customer_id)[p.item_id]["plan"]["status"] == "unsubscribed"
    export = client.get(f"/customers/{p.customer_id}/export", headers=AUTH).json()["live"]
    assert export["plans"] == {p.item_id: "unsubscribed"}  # what the customer said is theirs to see
    assert [e["type"] for e in export["events"]] == ["subscribe", "unsubscribe"]


def test_a_subscription_survives_a_restart(make_client: AppFactory, artifact: Artifact) -> None:
    """In the embedded store's event log (replayed at start-up) as in Redis."""
    with make_client() as client:
        p, _ = shown_plan(client, artifact)
        post(client, {"customer_id": p.customer_id, "item_id": p.item_id, "type": "subscribe"})
    with make_client() as client:
        assert buy_again(client, p.customer_id)[p.item_id]["plan"]["status"] == "subscribed"


def test_a_purchase_since_training_moves_the_next_reorder_on(client: TestClient, artifact: Artifact) -> None:
    p, entry = shown_plan(client, artifact)
    bought = p.moment(p.plan.next_day + 2)
    post(
        client,
        {"customer_id": p.customer_id, "item_id": p.item_id, "type": "purchase", "timestamp": bought.isoformat()},
    )
    moved = buy_again(client, p.customer_id)[p.item_id]["plan"]
    expected = (bought + timedelta(days=p.plan.interval_days)).date()
    assert moved["next_on"] == expected.isoformat() and moved["next_on"] > entry["plan"]["next_on"]


def test_a_due_plan_is_the_outbound_offer_within_the_contact_policy(
    client: TestClient, artifact: Artifact, settings: Settings
) -> None:
    p, _ = shown_plan(client, artifact)
    plans = {i: e["plan"] for i, e in buy_again(client, p.customer_id).items() if e["plan"] is not None}
    when = due_at(p, settings)
    before = p.moment(p.plan.next_day - 2).replace(hour=12).isoformat()
    early = outbound(client, p.customer_id, before)
    assert (
        early.status_code != 200
        or early.json()["reason"] != "replenishment due"
        or (early.json()["item"]["item_id"] != p.item_id)
    )
    sent = outbound(client, p.customer_id, when, dry_run=False)
    assert sent.status_code == 200, sent.headers
    body = sent.json()
    assert body["reason"] == "replenishment due" and body["source"] == "personal"
    assert body["item"]["item_id"] in plans and body["plan"] == plans[body["item"]["item_id"]]
    assert body["item"]["reason"].startswith("replenishment due: you usually reorder this every ")
    again = outbound(client, p.customer_id, when)  # the reminder was a contact: the interval applies
    assert again.status_code == 204 and again.headers["X-Outbound-Reason"] == "contacted_recently"
    zone = timezone_for(p.country, settings.default_timezone)
    late = (p.moment(p.plan.next_day + 1).astimezone(zone).replace(hour=23)).isoformat()
    quiet = outbound(client, p.customer_id, late)
    assert quiet.status_code == 204 and quiet.headers["X-Outbound-Reason"] in {"quiet_hours", "contacted_recently"}


def test_unsubscribing_stops_the_reminders(client: TestClient, artifact: Artifact, settings: Settings) -> None:
    p, _ = shown_plan(client, artifact)
    when = due_at(p, settings)
    reminded = set()
    for _ in range(len(buy_again(client, p.customer_id)) + 1):
        offer = outbound(client, p.customer_id, when).json()
        if offer["reason"] != "replenishment due":
            break
        item = offer["item"]["item_id"]
        assert item not in reminded  # an unsubscribed plan is never reminded of again
        reminded.add(item)
        post(client, {"customer_id": p.customer_id, "item_id": item, "type": "unsubscribe"})
    assert reminded and offer["reason"] == "best offer" and offer["plan"] is None
    assert offer["item"]["item_id"] not in reminded or "replenishment" not in offer["item"]["reason"]


def test_a_forgotten_customer_gets_no_plan_and_cannot_subscribe(
    make_client: AppFactory, artifact: Artifact, tmp_path: Path, settings: Settings
) -> None:
    """With a deny list of the test's own: the suite's trained artifacts are shared."""
    with make_client(forgotten_file=tmp_path / "forgotten.txt") as client:
        p, _ = shown_plan(client, artifact)
        post(client, {"customer_id": p.customer_id, "item_id": p.item_id, "type": "subscribe"})
        plans_key = contract.live_key(p.customer_id, "plans")
        in_redis = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
        assert in_redis is None or in_redis.exists(plans_key) == 1
        assert client.delete(f"/customers/{p.customer_id}", headers=AUTH).status_code == 204
        live = client.get(f"/customers/{p.customer_id}/export", headers=AUTH).json()["live"]
        assert live["plans"] == {} and live["events"] == []  # the subscription went with the rest
        assert in_redis is None or in_redis.exists(plans_key) == 0
        refused = client.post(
            "/events", json={"customer_id": p.customer_id, "item_id": p.item_id, "type": "subscribe"}, headers=AUTH
        )
        assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "customer_id"
        assert buy_again(client, p.customer_id) == {}
        resp = client.get(f"/outbound/{p.customer_id}", headers=AUTH)
        assert resp.status_code == 204 and resp.headers["X-Outbound-Reason"] == "forgotten"
