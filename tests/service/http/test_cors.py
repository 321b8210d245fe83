"""CORS for the configured origins on POST /events (and the public reads), never on the admin
routes or the preview; never credentials; `*` and paths refused as origins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from models.contract.artifact import Artifact
from service.app import create_app
from service.settings import Settings
from tests.support.apps import settings_for
from tests.support.keys import AUTH

SHOP = "https://shop.example"
EVENTS_KEY = "pk_live_cors_0123456789"


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    }


@pytest.fixture
def client(artifacts: Path) -> Iterator[TestClient]:
    settings = settings_for(artifacts, cors_origins=[SHOP], events_keys=EVENTS_KEY)
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_preflight_for_events_from_a_configured_origin_is_allowed(client: TestClient) -> None:
    resp = client.options("/events", headers=_preflight(SHOP))
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == SHOP
    assert "POST" in resp.headers["access-control-allow-methods"]
    allowed = resp.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in resp.headers


def test_a_preflight_from_another_origin_is_refused(client: TestClient) -> None:
    resp = client.options("/events", headers=_preflight("https://evil.example"))
    assert resp.status_code == 400
    assert "access-control-allow-origin" not in resp.headers


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/admin/reload", "POST"),
        ("/customers/c1/export", "GET"),
        ("/customers/c1", "DELETE"),
        ("/outbound/c1", "GET"),
        ("/preview", "GET"),
        ("/preview/session", "POST"),
    ],
)
def test_admin_routes_and_the_preview_get_no_cors_even_from_a_configured_origin(
    client: TestClient, path: str, method: str
) -> None:
    assert "access-control-allow-origin" not in client.options(path, headers=_preflight(SHOP, method)).headers
    actual = client.request(method, path, headers={"Origin": SHOP, **AUTH})
    assert "access-control-allow-origin" not in actual.headers


def test_the_browsers_post_with_a_publishable_key_gets_cors_headers(client: TestClient, artifact: Artifact) -> None:
    body = {"customer_id": "c1", "item_id": str(artifact.items.ids[0]), "type": "click"}
    resp = client.post("/events", json=body, headers={"Origin": SHOP, "Authorization": f"Bearer {EVENTS_KEY}"})
    assert resp.status_code == 202
    assert resp.headers["access-control-allow-origin"] == SHOP
    assert "retry-after" in resp.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" in client.get("/recommend/c1", headers={"Origin": SHOP}).headers


@pytest.mark.parametrize("origin", ["*", "https://shop.example/", "https://shop.example/page", "shop.example"])
def test_wildcards_and_paths_are_not_origins(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(artifacts=Path("unused"), cors_origins=[origin])
