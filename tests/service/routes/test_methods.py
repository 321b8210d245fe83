"""A wrong method on any path answers 405 JSON with the path's `Allow`, never another route's answer.

Before, `GET /recommend/batch` matched `GET /recommend/{customer_id}` and answered a
recommendation for a customer named "batch" (on both the routes and the Redis hot path), and
`PUT /recommend/batch` said `Allow: GET`. Checked for every route of the app, on the embedded
store and on Redis with the hot path in front."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from service.app import create_app
from service.routes.methods import METHODS
from service.settings import Settings
from tests.support.stores import publish_fresh


@pytest.fixture(
    scope="module", params=[pytest.param("embedded"), pytest.param("redis+hot path", marks=pytest.mark.redis)]
)
def client(request: pytest.FixtureRequest, trained_artifacts: Path) -> Iterator[TestClient]:
    settings = Settings(artifacts=trained_artifacts, api_key="methods-test-key-0123456789", access_log=False)
    if request.param != "embedded":
        url = request.getfixturevalue("redis_server").url
        publish_fresh(url, trained_artifacts)
        settings = settings.model_copy(update={"redis_url": url, "hot_path": True})
    with TestClient(create_app(settings)) as c:
        if request.param != "embedded":
            assert c.app.hot is not None  # type: ignore[attr-defined]
        yield c


def _api_routes(routes: list) -> Iterator[APIRoute]:  # type: ignore[type-arg]
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included routers
            yield from _api_routes(route.original_router.routes)
        elif isinstance(route, APIRoute) and (route.include_in_schema or route.path.startswith("/preview")):
            yield route  # the API's routes and the preview's pages (the 405 guards are neither)


def _paths(client: TestClient) -> dict[str, set[str]]:
    """Each route's path with its parameters filled in -> the methods it accepts."""
    paths: dict[str, set[str]] = {}
    for route in _api_routes(client.app.router.routes):  # type: ignore[attr-defined]
        assert route.methods is not None, route.path
        paths.setdefault(re.sub(r"\{[^}]+\}", "0", route.path), set()).update(route.methods)
    return paths


def test_every_wrong_method_is_405_with_the_paths_allow_header(client: TestClient) -> None:
    paths = _paths(client)
    assert paths["/recommend/batch"] == {"POST"} and paths["/recommend/0"] == {"GET"}
    for path, allowed in paths.items():
        for method in sorted(set(METHODS) - allowed - {"HEAD", "OPTIONS"}):
            resp = client.request(method, path)
            assert resp.status_code == 405, (method, path, resp.text[:200])
            assert set(resp.headers["allow"].replace(" ", "").split(",")) == allowed, (method, path)
            assert resp.json()["error"] == "method_not_allowed"


def test_get_recommend_batch_is_not_a_recommendation_for_a_customer_named_batch(client: TestClient) -> None:
    for _ in range(2):  # the second read would come from the hot path's cache
        resp = client.get("/recommend/batch")
        assert resp.status_code == 405 and resp.headers["allow"] == "POST"
        assert "POST" in resp.json()["message"] and "customer_id" not in resp.text
    assert client.get("/recommend/batch", params={"k": 3}).status_code == 405
    posted = client.post("/recommend/batch", json={"customer_ids": ["batch", "never-seen-1"], "k": 2})
    assert posted.status_code == 200
    assert [r["customer_id"] for r in posted.json()["results"]] == ["batch", "never-seen-1"]
