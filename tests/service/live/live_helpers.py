"""Helpers shared by the real-time feedback tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from models.contract.artifact import Artifact

API_KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

AppFactory = Callable[..., AbstractContextManager[TestClient]]  # make_client(**setting_overrides)


class FixedClock:
    """Time stands still until the test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)


def known_customer(artifact: Artifact, n: int = 0) -> str:
    return str(artifact.customers.ids[n])


def item_ids(client: TestClient, customer: str, **params: object) -> list[str]:
    resp = client.get(f"/recommend/{customer}", params={"k": 10, **params})
    assert resp.status_code == 200, resp.text
    return [i["item_id"] for i in resp.json()["items"]]


def post(client: TestClient, *events: dict[str, object]) -> dict[str, object]:
    body = events[0] if len(events) == 1 else {"events": list(events)}
    resp = client.post("/events", json=body, headers=AUTH)
    assert resp.status_code == 202, resp.text
    return resp.json()  # type: ignore[no-any-return]
