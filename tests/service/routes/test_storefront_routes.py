"""The personal store, similar items, segments and the /recommend additions over HTTP, against
both stores (embedded and a real Redis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from models.rules.loyalty import TIERS

STORE_SECTIONS = ["buy_again", "for_you", "because_you_bought", "trending_in_your_segment", "new_arrivals"]


@pytest.fixture(scope="module")
def client(open_client, trained_artifacts: Path) -> TestClient:  # type: ignore[no-untyped-def]
    return open_client(trained_artifacts)


@pytest.fixture(scope="module")
def artifact(trained_artifacts: Path):  # type: ignore[no-untyped-def]
    return load_artifact(trained_artifacts)


def _bought(artifact, row: int) -> set[str]:  # type: ignore[no-untyped-def]
    h = artifact.history
    return {str(artifact.items.ids[i]) for i in h.indices[h.indptr[row] : h.indptr[row + 1]]}


def _with_buy_again(client: TestClient, artifact) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    for row in range(len(artifact.customers)):
        body = client.get(f"/personal-store/{artifact.customers.ids[row]}").json()
        if body["sections"] and body["sections"][0]["id"] == "buy_again":
            return row, body
    raise AssertionError("no customer with repeat purchases in the slice")


# --- personal store ---------------------------------------------------------------------------


def test_store_sections_in_order_without_duplicates(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    for row in range(0, 60, 3):
        body = client.get(f"/personal-store/{artifact.customers.ids[row]}", params={"k": 8}).json()
        assert body["source"] == "personal" and body["model_version"] == artifact.version
        ids = [s["id"] for s in body["sections"]]
        assert ids == [s for s in STORE_SECTIONS if s in ids] and "for_you" in ids
        items = [i["item_id"] for s in body["sections"] for i in s["items"]]
        assert len(items) == len(set(items))
        assert all(0 < len(s["items"]) <= 8 for s in body["sections"])
        assert all(i["title"] and i["reason"] for s in body["sections"] for i in s["items"])
        assert body["loyalty"]["tier"] in TIERS and body["loyalty"]["why"]


def test_buy_again_only_purchases_with_rhythm_reason(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    row, body = _with_buy_again(client, artifact)
    section = body["sections"][0]
    assert {i["item_id"] for i in section["items"]} <= _bought(artifact, row)
    assert all(
        i["reason"].startswith(("you usually reorder this every", "you bought this ")) for i in section["items"]
    )  # a rhythm where it holds, else the facts
    for_you = next(s for s in body["sections"] if s["id"] == "for_you")
    assert not {i["item_id"] for i in for_you["items"]} & _bought(artifact, row)


def test_because_you_bought_names_a_purchased_anchor(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    titles = artifact.catalog.set_index("item_id")["title"]
    seen = 0
    for row in range(40):
        body = client.get(f"/personal-store/{artifact.customers.ids[row]}").json()
        section = next((s for s in body["sections"] if s["id"] == "because_you_bought"), None)
        if section is None:
            continue
        seen += 1
        anchor = section["title"].removeprefix("Because you bought ")
        assert anchor in set(titles[list(_bought(artifact, row))]) and anchor in section["reason"]
        assert not {i["item_id"] for i in section["items"]} & _bought(artifact, row)
    assert seen > 30


def test_unknown_customer_gets_popular_and_trending_store(client: TestClient) -> None:
    body = client.get("/personal-store/never-seen-7", params={"k": 4}).json()
    assert body["source"] == "popular" and body["loyalty"]["tier"] == "new"
    assert [s["id"] for s in body["sections"]][:2] == ["popular", "trending"]
    assert len(body["sections"][0]["items"]) == 4


def test_store_exclude_refills_sections(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    cid = artifact.customers.ids[5]
    first = client.get(f"/personal-store/{cid}", params={"k": 5}).json()
    for_you = [i["item_id"] for s in first["sections"] if s["id"] == "for_you" for i in s["items"]]
    second = client.get(f"/personal-store/{cid}", params={"k": 5, "exclude": for_you}).json()
    shown = [i["item_id"] for s in second["sections"] for i in s["items"]]
    assert not set(for_you) & set(shown)
    assert len(next(s for s in second["sections"] if s["id"] == "for_you")["items"]) == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("k=0", "k"),
        ("k=51", "k"),
        ("exclude=bad%20id", "exclude"),
        ("category=", "category"),
        ("&".join(f"exclude=i{n}" for n in range(101)), "exclude"),
    ],
)
def test_store_bad_requests_are_422(client: TestClient, query: str, field: str) -> None:
    resp = client.get(f"/personal-store/13085?{query}")
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"].startswith(field)


def test_store_bad_customer_id_is_422(client: TestClient) -> None:
    assert client.get("/personal-store/bad%20id").json()["errors"][0]["field"] == "customer_id"


# --- similar items ----------------------------------------------------------------------------


def test_similar_items_for_a_known_item(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    item = str(artifact.items.ids[artifact.popular_items[0]])
    body = client.get(f"/items/{item}/similar", params={"k": 7}).json()
    assert body["item_id"] == item and body["title"] != item
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 7 and item not in ids and len(set(ids)) == 7
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(body["title"] in i["reason"] for i in body["items"])


def test_similar_unknown_item_is_404_with_message(client: TestClient) -> None:
    resp = client.get("/items/NO-SUCH-ITEM/similar")
    assert resp.status_code == 404
    assert resp.json()["error"] == "not_found" and "NO-SUCH-ITEM" in resp.json()["message"]


@pytest.mark.parametrize(
    ("url", "field"),
    [("/items/bad%20id/similar", "item_id"), ("/items/85123A/similar?k=0", "k"), ("/items/85123A/similar?k=51", "k")],
)
def test_similar_bad_requests_are_422(client: TestClient, url: str, field: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == field


# --- segments ---------------------------------------------------------------------------------


def test_segments_cover_every_customer_once(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/segments").json()
    segments = body["segments"]
    assert [s["id"] for s in segments] == list(range(len(segments)))
    assert sum(s["size"] for s in segments) == len(artifact.customers)
    assert np.bincount(artifact.storefront.segment_of).tolist() == [s["size"] for s in segments]
    assert all(s["name"] and s["description"] for s in segments)


def test_segment_detail_with_sample_customers(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/segments/1").json()
    assert body["id"] == 1 and body["model_version"] == artifact.version
    rows = artifact.customers.rows(body["sample_customers"])
    assert len(rows) > 0 and (artifact.storefront.segment_of[rows] == 1).all()
    assert body["top_products"] and body["countries"] and body["stats"]["median_orders"] >= 1


def test_segment_offers_with_lift_and_reason(client: TestClient) -> None:
    body = client.get("/segments/0/offers", params={"k": 5}).json()
    assert body["segment_id"] == 0 and len(body["offers"]) == 5
    for offer in body["offers"]:
        assert offer["lift"] > 1 and offer["segment_share"] < 0.5 and "of this segment" in offer["reason"]
    scores = [o["score"] for o in body["offers"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("url", ["/segments/9999", "/segments/9999/offers"])
def test_unknown_segment_is_404(client: TestClient, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 404 and "GET /segments" in resp.json()["message"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/segments/first", "segment_id"),
        ("/segments/-1", "segment_id"),
        ("/segments/0/offers?k=0", "k"),
        ("/segments/0/offers?k=41", "k"),
    ],
)
def test_segment_bad_requests_are_422(client: TestClient, url: str, field: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == field


# --- /recommend: reasons, exclude, category, batch --------------------------------------------


def test_recommend_items_carry_reasons_and_prices(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    body = client.get(f"/recommend/{artifact.customers.ids[3]}", params={"k": 5}).json()
    assert all(i["reason"] == "bought by customers like you" and i["price"] for i in body["items"])
    popular = client.get("/recommend/nobody-here", params={"k": 3}).json()
    assert all(i["reason"] == "a best-seller" for i in popular["items"])


def test_recommend_bought_items_say_so(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    reasons = set()
    for row in range(40):
        body = client.get(
            f"/recommend/{artifact.customers.ids[row]}", params={"k": 30, "include_purchased": "true"}
        ).json()
        reasons |= {i["reason"] for i in body["items"] if i["item_id"] in _bought(artifact, row)}
    assert reasons and all(r.startswith(("you bought this ", "you usually reorder this every")) for r in reasons)
    assert any(r.startswith("you usually reorder this every") for r in reasons)  # the store's buy-again words


def test_recommend_exclude_refills_to_k(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    cid = artifact.customers.ids[8]

    def ids(**params: object) -> list[str]:
        return [i["item_id"] for i in client.get(f"/recommend/{cid}", params={"k": 6, **params}).json()["items"]]

    first = ids()
    second = ids(exclude=first[:3])
    assert len(second) == 6 and not set(first[:3]) & set(second) and second[:3] == first[3:]


def test_recommend_category_without_categories_is_empty(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    """The bundled data has no categories: a category filter honestly finds nothing."""
    body = client.get(f"/recommend/{artifact.customers.ids[0]}", params={"category": "toys"}).json()
    assert body["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("exclude=%3Cx%3E", "exclude"),
        ("&".join(f"exclude=i{n}" for n in range(101)), "exclude"),
        ("category=" + "x" * 65, "category"),
        ("category=toys&category=home", "category"),
    ],
)
def test_recommend_bad_filters_are_422(client: TestClient, query: str, field: str) -> None:
    resp = client.get(f"/recommend/13085?{query}")
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"].startswith(field)


def test_batch_answers_each_customer_from_one_version(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    ids = [str(c) for c in artifact.customers.ids[:20]] + ["unknown-1"]
    body = client.post("/recommend/batch", json={"customer_ids": ids, "k": 4}).json()
    assert body["model_version"] == artifact.version
    assert [r["customer_id"] for r in body["results"]] == ids
    assert all(len(r["items"]) == 4 and r["model_version"] == artifact.version for r in body["results"])
    assert body["results"][-1]["source"] == "popular"
    single = client.get(f"/recommend/{ids[0]}", params={"k": 4}).json()
    assert body["results"][0]["items"] == single["items"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"customer_ids": []}, "customer_ids"),
        ({"customer_ids": ["a"] * 501}, "customer_ids"),
        ({"customer_ids": ["bad id"]}, "customer_ids.0"),
        ({"customer_ids": ["a"], "k": 0}, "k"),
        ({"customer_ids": ["a"], "exclude": ["x"] * 101}, "exclude"),
        ({"customer_ids": ["a"], "kk": 1}, "kk"),
        ({}, "customer_ids"),
    ],
)
def test_batch_bad_requests_are_422(client: TestClient, payload: dict, field: str) -> None:  # type: ignore[type-arg]
    resp = client.post("/recommend/batch", json=payload)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == field


def test_openapi_lists_the_new_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/personal-store/{customer_id}",
        "/items/{item_id}/similar",
        "/segments",
        "/segments/{segment_id}",
        "/segments/{segment_id}/offers",
        "/recommend/batch",
    ]:
        assert path in paths
