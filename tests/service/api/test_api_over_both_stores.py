"""The HTTP API against both stores: the embedded one and a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from service.app import create_app
from service.settings import Settings
from tests.support.stores import STORES, publish_fresh


@pytest.fixture(params=STORES)
def client(request: pytest.FixtureRequest, trained_artifacts: Path) -> Iterator[TestClient]:
    settings = Settings(artifacts=trained_artifacts)
    if request.param == "redis":
        url = request.getfixturevalue("redis_server").url
        publish_fresh(url, trained_artifacts)
        settings = Settings(artifacts=trained_artifacts, redis_url=url)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def artifact(trained_artifacts: Path):  # type: ignore[no-untyped-def]
    return load_artifact(trained_artifacts)


def _known(artifact, n: int = 0) -> str:  # type: ignore[no-untyped-def]
    return str(artifact.customers.ids[n])


def test_known_customer_gets_personal_titled_list(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    body = client.get(f"/recommend/{_known(artifact)}", params={"k": 5}).json()
    assert body["source"] == "personal" and body["degraded"] is False
    assert body["model_version"] == artifact.version
    assert len(body["items"]) == 5
    assert all(item["title"] and item["title"] != item["item_id"] for item in body["items"])
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_default_excludes_purchased_items(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    for n in range(10):
        cid = _known(artifact, n)
        bought = {str(artifact.items.ids[i]) for i in artifact.history[n].indices}
        items = {i["item_id"] for i in client.get(f"/recommend/{cid}", params={"k": 50}).json()["items"]}
        assert not items & bought


def test_include_purchased_may_return_bought_items(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    hits = 0
    for n in range(20):
        bought = {str(artifact.items.ids[i]) for i in artifact.history[n].indices}
        resp = client.get(f"/recommend/{_known(artifact, n)}", params={"k": 20, "include_purchased": "true"})
        hits += len({i["item_id"] for i in resp.json()["items"]} & bought)
    assert hits > 0


def test_lists_differ_between_customers(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    lists = {
        tuple(i["item_id"] for i in client.get(f"/recommend/{_known(artifact, n)}").json()["items"]) for n in range(10)
    }
    assert len(lists) > 5


def test_unknown_customer_gets_popular(client: TestClient) -> None:
    resp = client.get("/recommend/never-seen-42", params={"k": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert body["source"] == "popular" and len(body["items"]) == 3


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/recommend/13085?k=0", "k"),
        ("/recommend/13085?k=101", "k"),
        ("/recommend/13085?k=ten", "k"),
        ("/recommend/13085?include_purchased=maybe", "include_purchased"),
        ("/recommend/" + "x" * 65, "customer_id"),
        ("/recommend/bad%20id", "customer_id"),
        ("/recommend/%3Cscript%3E", "customer_id"),
    ],
)
def test_bad_requests_get_422_naming_the_field(client: TestClient, url: str, field: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 422
    body = resp.json()
    assert body["errors"][0]["field"] == field and field in body["message"]


def test_health_and_ready(client: TestClient, artifact) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["model_version"] == artifact.version


def test_openapi_docs_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/recommend/{customer_id}" in client.get("/openapi.json").json()["paths"]


def test_a_batch_k_must_be_a_json_number(client: TestClient) -> None:
    """`true` or "5" is no count: 422 naming `k` (pydantic's lax mode would read `true` as 1)."""
    for refused in (True, "5"):
        resp = client.post("/recommend/batch", json={"customer_ids": ["13085"], "k": refused})
        assert resp.status_code == 422, (refused, resp.text)
        assert resp.json()["errors"][0]["field"] == "k"
    for count in (5, 5.0):  # JSON Schema's integer: 5.0 is one
        assert client.post("/recommend/batch", json={"customer_ids": ["13085"], "k": count}).status_code == 200
