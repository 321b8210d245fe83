"""Keys with scopes on every route of the app: each route is declared here as public, events
(a publishable key or an admin key), admin or preview, and a route the table does not name fails
the test, so a new route cannot arrive without saying who may call it. Checked on the embedded
store and on Redis with the hot path in front (which must not answer anything keyed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from models.contract.artifact import Artifact
from service.app import create_app
from service.http.auth import KeyScope, match_key, route_scopes
from service.http.cors import api_routes
from tests.support.apps import settings_for
from tests.support.keys import API_KEY, AUTH, MARKETER

EVENTS_KEY = "pk_test_events_0123456789"
EVENTS_AUTH = {"Authorization": f"Bearer {EVENTS_KEY}"}
CUSTOMER = "scope-test-customer"

Access = Literal["public", "events", "admin", "preview", "sign-in"]
ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/recommend/{customer_id}"): "public",
    ("POST", "/recommend/batch"): "public",
    ("GET", "/personal-store/{customer_id}"): "public",
    ("GET", "/items/{item_id}/similar"): "public",
    ("GET", "/segments"): "public",
    ("GET", "/segments/{segment_id}"): "public",
    ("GET", "/segments/{segment_id}/offers"): "public",
    ("GET", "/feedback/summary"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/health"): "public",
    ("GET", "/ready"): "public",
    ("POST", "/events"): "events",
    ("GET", "/outbound/{customer_id}"): "admin",
    ("GET", "/customers/{customer_id}/export"): "admin",
    ("DELETE", "/customers/{customer_id}"): "admin",
    ("POST", "/customers/{customer_id}/restore"): "admin",
    ("POST", "/admin/reload"): "admin",
    ("GET", "/preview/login"): "sign-in",
    ("POST", "/preview/session"): "sign-in",
    ("POST", "/preview/logout"): "preview",
    ("GET", "/preview"): "preview",
    ("GET", "/preview/segments/{segment_id}"): "preview",
    ("GET", "/preview/customers"): "preview",
    ("GET", "/preview/segments/{segment_id}/offers.csv"): "preview",
    ("GET", "/preview/offers.csv"): "preview",
    ("GET", "/campaigns"): "admin",
    ("POST", "/campaigns"): "admin",
    ("GET", "/campaigns/{campaign_id}"): "admin",
    ("DELETE", "/campaigns/{campaign_id}"): "admin",
    ("GET", "/campaigns/{campaign_id}/audience.csv"): "admin",
    ("GET", "/campaigns/{campaign_id}/offers.csv"): "admin",
    ("GET", "/preview/campaigns"): "preview",
    ("POST", "/preview/campaigns"): "preview",
    ("GET", "/preview/campaigns/{campaign_id}"): "preview",
    ("POST", "/preview/campaigns/{campaign_id}/delete"): "preview",
    ("GET", "/preview/campaigns/{campaign_id}/audience.csv"): "preview",
    ("GET", "/preview/campaigns/{campaign_id}/offers.csv"): "preview",
    ("GET", "/preview/complaints"): "preview",
    ("GET", "/experiments"): "admin",
    ("POST", "/experiments"): "admin",
    ("GET", "/experiments/{experiment_id}"): "admin",
    ("POST", "/experiments/{experiment_id}/stop"): "admin",
    ("GET", "/preview/experiments"): "preview",
    ("GET", "/preview/experiments/{experiment_id}"): "preview",
    ("GET", "/rules"): "admin",
    ("POST", "/rules"): "admin",
    ("GET", "/rules/audit"): "admin",
    ("GET", "/rules/{rule_id}"): "admin",
    ("PUT", "/rules/{rule_id}"): "admin",
    ("DELETE", "/rules/{rule_id}"): "admin",
    ("GET", "/preview/rules"): "preview",
    ("POST", "/preview/rules"): "preview",
    ("POST", "/preview/rules/{rule_id}/delete"): "preview",
}
DENIED = (401, 403)


def _routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    """(method, path) of every API route and preview page; the 405 guards and docs are neither."""
    for route in api_routes(routes):
        if isinstance(route, APIRoute) and (route.include_in_schema or route.path.startswith("/preview")):
            for method in sorted(route.methods or ()):
                yield method, route.path


@pytest.fixture
def client(artifacts: Path, redis_url: str | None) -> Iterator[TestClient]:
    settings = settings_for(artifacts, redis_url, events_keys=EVENTS_KEY, auth_failure_limit=1000)
    with TestClient(create_app(settings)) as c:
        if redis_url is not None:
            assert c.app.hot is not None  # type: ignore[attr-defined]
        yield c


def _call(client: TestClient, method: str, path: str, artifact: Artifact, **kwargs: object) -> int:
    filled = path.replace("{customer_id}", CUSTOMER).replace("{segment_id}", "0")
    filled = filled.replace("{item_id}", str(artifact.items.ids[0]))
    body: dict[str, object] | None = None
    if path == "/events":
        body = {"customer_id": CUSTOMER, "item_id": str(artifact.items.ids[0]), "type": "view"}
    elif path == "/recommend/batch":
        body = {"customer_ids": [CUSTOMER]}
    return client.request(method, filled, json=body, **kwargs).status_code  # type: ignore[arg-type]


def test_every_route_is_declared(client: TestClient) -> None:
    found = set(_routes(client.app.router.routes))  # type: ignore[attr-defined]
    assert found - ACCESS.keys() == set(), "new routes: declare who may call them in ACCESS"
    assert ACCESS.keys() - found == set(), "ACCESS names routes that are gone"


def test_the_declared_scopes_are_what_the_routes_enforce(client: TestClient, artifact: Artifact) -> None:
    for method, path in _routes(client.app.router.routes):  # type: ignore[attr-defined]
        access = ACCESS[(method, path)]
        anonymous = _call(client, method, path, artifact)
        publishable = _call(client, method, path, artifact, headers=EVENTS_AUTH)
        admin = _call(client, method, path, artifact, headers=AUTH)
        where = (method, path, anonymous, publishable, admin)
        if access in ("public", "sign-in"):
            assert anonymous not in DENIED or path == "/preview/session", where  # a sign-in with no password: 401
        elif access == "events":
            assert (anonymous, publishable, admin) == (401, 202, 202), where
        elif access == "admin":
            assert anonymous == 401 and publishable == 403 and admin not in DENIED, where
        else:  # the preview: HTTP Basic or the session cookie, never a bearer key
            assert anonymous == publishable == admin == 401, where
            basic = _call(client, method, path, artifact, auth=MARKETER)
            assert basic != 401, where
            assert _call(client, method, path, artifact, auth=("marketer", EVENTS_KEY)) == 401, where


def test_a_publishable_key_is_refused_with_403_naming_its_scope(client: TestClient) -> None:
    refused = client.get(f"/customers/{CUSTOMER}/export", headers=EVENTS_AUTH)
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert "events scope" in refused.json()["message"] and "admin scope" in refused.json()["message"]
    assert EVENTS_KEY not in refused.text


def test_record_false_needs_an_admin_key_on_every_path_also_the_hot_paths(client: TestClient) -> None:
    """`record=false` is the keyed variant of the public reads: the hot path leaves it to the route."""
    url = f"/recommend/{CUSTOMER}"
    assert client.get(url, params={"record": "false"}).status_code == 401
    assert client.get(url, params={"record": "false"}, headers=EVENTS_AUTH).status_code == 403
    assert client.get(url, params={"record": "false"}, headers=AUTH).status_code == 200


def test_routes_say_their_scopes_from_their_dependencies(client: TestClient) -> None:
    by_path = {
        (method, path): route_scopes(route)
        for route in api_routes(client.app.router.routes)  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        for path in [route.path]
    }
    declared = {"events": {KeyScope.EVENTS, KeyScope.ADMIN}, "admin": {KeyScope.ADMIN}}
    for key, access in ACCESS.items():
        assert by_path[key] == (frozenset(declared[access]) if access in declared else None), key


def test_keys_are_matched_to_their_scope_and_position(artifacts: Path) -> None:
    settings = settings_for(
        artifacts, api_key=f"{API_KEY},admin-two-0123456789", events_keys=f"{EVENTS_KEY},pk_b_0123456789ab"
    )
    assert match_key(settings, API_KEY) is not None and match_key(settings, API_KEY).key_id == "admin1"  # type: ignore[union-attr]
    second = match_key(settings, "pk_b_0123456789ab")
    assert second is not None and (second.key_id, second.scope) == ("events2", KeyScope.EVENTS)
    assert match_key(settings, "pk_b_0123456789a") is None
    assert match_key(settings, "") is None


def test_only_publishable_keys_configured_opens_events_and_nothing_else(artifacts: Path, artifact: Artifact) -> None:
    settings = settings_for(artifacts, api_key=None, events_keys=EVENTS_KEY)
    with TestClient(create_app(settings)) as client:
        assert _call(client, "POST", "/events", artifact, headers=EVENTS_AUTH) == 202
        off = client.post("/admin/reload", headers=EVENTS_AUTH)
        assert off.status_code == 403 and "MICROOFFERS_API_KEY" in off.json()["message"]


def _events(client: TestClient, artifact: Artifact, ip: str, key: str = EVENTS_KEY) -> int:
    body = {"customer_id": CUSTOMER, "item_id": str(artifact.items.ids[0]), "type": "view"}
    headers = {"Authorization": f"Bearer {key}"}
    return TestClient(client.app, client=(ip, 50000)).post("/events", json=body, headers=headers).status_code


def test_publishable_keys_are_limited_per_client_ip_and_per_key(artifacts: Path, artifact: Artifact) -> None:
    settings = settings_for(
        artifacts,
        events_keys=EVENTS_KEY,
        events_ip_burst=2,
        events_ip_rate_per_s=0.001,
        events_key_burst=3,
        events_key_rate_per_s=0.001,
    )
    with TestClient(create_app(settings)) as client:
        assert [_events(client, artifact, "10.0.0.1") for _ in range(3)] == [202, 202, 429]  # the address's burst
        assert [_events(client, artifact, "10.0.0.2") for _ in range(2)] == [202, 429]  # the key's burst (3) spent
        assert _events(client, artifact, "10.0.0.3", API_KEY) == 202  # an admin key has the write rate
        refused = TestClient(client.app, client=("10.0.0.4", 1)).post("/events", json={}, headers=EVENTS_AUTH)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert re.search(r"publishable key \(limit 0.001/s, burst 3\)", refused.json()["message"])
        assert "microoffers_rate_limited_total 3.0" in client.get("/metrics").text
