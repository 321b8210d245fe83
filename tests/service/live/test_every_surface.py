"""Live events reach every surface at once, as they reach `/recommend`: the personal store (every
section, on the routes and on the hot path), the batch, outbound, the preview's customer page and
its CSV. Each test is a bug seen on main (issue 12), over both stores."""

from __future__ import annotations

from fastapi.testclient import TestClient

from models.contract.artifact import Artifact
from tests.support.keys import AUTH, MARKETER
from tests.support.live import item_ids, known_customer, post


def store_items(client: TestClient, customer: str, k: int = 50) -> dict[str, list[str]]:
    resp = client.get(f"/personal-store/{customer}", params={"k": k})
    assert resp.status_code == 200, resp.text
    return {s["id"]: [i["item_id"] for i in s["items"]] for s in resp.json()["sections"]}


def everything_shown(client: TestClient, customer: str) -> set[str]:
    """Every item any surface offers the customer right now."""
    shown = set(item_ids(client, customer, k=100)) | set(item_ids(client, customer, k=100, include_purchased="true"))
    shown |= {i for items in store_items(client, customer).values() for i in items}
    batch = client.post("/recommend/batch", json={"customer_ids": [customer], "k": 100}).json()
    shown |= {i["item_id"] for i in batch["results"][0]["items"]}
    offer = client.get(f"/outbound/{customer}", params={"dry_run": "true"}, headers=AUTH)
    if offer.status_code == 200:
        shown.add(offer.json()["item"]["item_id"])
    return shown


def test_store_follows_purchase_dismiss_return_and_complaint(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact, 3)
    picks = store_items(client, customer)["for_you"][:4]
    assert len(picks) == 4
    bought, *disliked = picks
    post(
        client,
        *(
            {"customer_id": customer, "item_id": item, "type": kind}
            for item, kind in zip(picks, ["purchase", "dismiss", "return", "complaint"])
        ),
    )
    sections = store_items(client, customer)
    for section, items in sections.items():
        assert not set(disliked) & set(items), f"{section} still offers a dismissed/returned/complained item"
        if section != "buy_again":
            assert bought not in items, f"{section} still offers the item just bought"
    assert not set(disliked) & everything_shown(client, customer)


def test_new_customer_with_a_purchase_has_a_personal_store(client: TestClient, artifact: Artifact) -> None:
    item = str(artifact.items.ids[artifact.history[2].indices[0]])
    welcome = client.get("/personal-store/first-timer").json()
    assert welcome["source"] == "popular" and welcome["loyalty"]["why"] == "no orders yet: welcome!"
    post(client, {"customer_id": "first-timer", "item_id": item, "type": "purchase"})
    page = client.get("/personal-store/first-timer").json()
    assert page["source"] == "personal" == client.get("/recommend/first-timer").json()["source"]
    assert page["loyalty"]["why"] != "no orders yet: welcome!"
    assert [s["id"] for s in page["sections"]][0] == "for_you"
    assert item not in {i["item_id"] for s in page["sections"] for i in s["items"]}


def test_scores_keep_one_scale_before_and_after_events(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact, 5)

    def scores() -> dict[str, float]:
        body = client.get(f"/recommend/{customer}", params={"k": 20}).json()
        return {i["item_id"]: i["score"] for i in body["items"]}

    before = scores()
    post(client, {"customer_id": customer, "item_id": next(iter(before)), "type": "purchase"})  # re-solved vector
    after = scores()
    for answer in (before, after):
        assert all(0.0 <= s <= 1.0 and round(s, 6) == s for s in answer.values()), answer
        assert max(answer.values()) == 1.0
    page = client.get(f"/personal-store/{customer}", params={"k": 20}).json()
    for_you = {i["item_id"]: i["score"] for s in page["sections"] if s["id"] == "for_you" for i in s["items"]}
    assert for_you and all(after[i] == s for i, s in for_you.items() if i in after)
    assert all(0.0 <= i["score"] <= 1.0 for s in page["sections"] for i in s["items"])


def test_reading_with_record_false_is_not_showing(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact, 6)
    assert client.get(f"/recommend/{customer}", params={"record": "false"}).status_code == 401
    quiet = client.get(f"/recommend/{customer}", params={"record": "false"}, headers=AUTH)
    assert quiet.status_code == 200
    export = client.get(f"/customers/{customer}/export", headers=AUTH).json()
    assert export["live"]["impressions"] == {}
    shown = client.get(f"/recommend/{customer}").json()
    assert [i["item_id"] for i in shown["items"]] == [i["item_id"] for i in quiet.json()["items"]]
    client.get("/preview/customers", params={"customer_id": customer}, auth=MARKETER)
    impressions = client.get(f"/customers/{customer}/export", headers=AUTH).json()["live"]["impressions"]
    assert set(impressions) == {i["item_id"] for i in shown["items"]}
    assert set(impressions.values()) == {1}, "the preview counted impressions"


def test_preview_customer_page_and_csv_follow_live_state(client: TestClient, artifact: Artifact) -> None:
    customer = known_customer(artifact, 7)
    page = client.get("/preview/customers", params={"customer_id": customer}, auth=MARKETER).text
    picks = store_items(client, customer)["for_you"][:1]
    csv_items = {
        line.split(",")[4]
        for line in client.get("/preview/offers.csv", auth=MARKETER).text.splitlines()
        if line.startswith(f"{customer},")
    }
    assert f'data-item="{picks[0]}"' in page
    target = sorted(csv_items)[0]
    post(
        client,
        {"customer_id": customer, "item_id": picks[0], "type": "complaint"},
        {"customer_id": customer, "item_id": target, "type": "return"},
    )
    page = client.get("/preview/customers", params={"customer_id": customer}, auth=MARKETER).text
    assert f'data-item="{picks[0]}"' not in page
    csv_after = {
        line.split(",")[4]
        for line in client.get("/preview/offers.csv", auth=MARKETER).text.splitlines()
        if line.startswith(f"{customer},")
    }
    assert target not in csv_after and csv_after
