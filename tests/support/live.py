"""Requests of the real-time feedback tests: read a customer's list, post events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from fastapi.testclient import TestClient

from models.contract.artifact import Artifact
from tests.support.keys import AUTH

AppFactory = Callable[..., AbstractContextManager[TestClient]]  # make_client(**setting_overrides)


def known_customer(artifact: Artifact, n: int = 0) -> str:
    return str(artifact.customers.ids[n])


def item_ids(client: TestClient, customer: str, **params: object) -> list[str]:
    resp = client.get(f"/recommend/{customer}", params={"k": 10, **params})
    assert resp.status_code == 200, resp.text
    return [i["item_id"] for i in resp.json()["items"]]


def post(client: TestClient, *events: Mapping[str, object]) -> dict[str, Any]:
    body = events[0] if len(events) == 1 else {"events": list(events)}
    resp = client.post("/events", json=body, headers=AUTH)
    assert resp.status_code == 202, resp.text
    answer: dict[str, Any] = resp.json()  # the 202 body: {"accepted": n, "ids": [...]}
    return answer


EMPTY_LIVE: dict[str, Any] = {
    "events": [],
    "purchases": {},
    "suppressed": [],
    "negative": [],
    "impressions": {},
    "last_contact": None,
    "plans": {},
}
"""The `live` part of a customer's export when the service holds nothing live of them."""
