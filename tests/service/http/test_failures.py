"""Failed authentications are limited per client IP, across the bearer key, HTTP Basic and the
preview's sign-in form: past the limit, 429 with Retry-After, even for the right credentials;
successes and requests without credentials do not count; other addresses are not affected."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.http.failures import AuthFailures
from tests.support.apps import settings_for
from tests.support.keys import API_KEY, AUTH, MARKETER

WRONG = {"Authorization": "Bearer not-the-key-0123456789"}


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_failures_block_until_the_oldest_leaves_the_window() -> None:
    clock = Seconds(1000.0)
    failures = AuthFailures(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert failures.blocked_s("10.0.0.1") == 0
        failures.failed("10.0.0.1")
        clock.advance(10)
    assert failures.blocked_s("10.0.0.1") == 30  # the first failure (t=1000) leaves at t=1060
    assert failures.blocked_s("10.0.0.2") == 0
    clock.advance(30)
    assert failures.blocked_s("10.0.0.1") == 0  # one more try allowed, then blocked again
    failures.failed("10.0.0.1")
    assert failures.blocked_s("10.0.0.1") == 10


def test_memory_is_bounded_by_forgetting_quiet_clients_first() -> None:
    clock = Seconds(0.0)
    failures = AuthFailures(limit=1, window_s=10, clock=clock, max_tracked=3)
    for client in ("a", "b"):
        failures.failed(client)
    clock.advance(20)
    failures.failed("c")
    failures.failed("d")  # full: a and b, quiet for longer than the window, are forgotten
    assert failures.blocked_s("c") > 0 and failures.blocked_s("d") > 0
    assert failures.blocked_s("a") == 0 and len(failures._failures) == 2


def _client(artifacts: Path, ip: str = "10.1.1.1") -> TestClient:
    return TestClient(create_app(settings_for(artifacts, auth_failure_limit=3)), client=(ip, 1234))


def test_wrong_bearer_keys_lead_to_429_even_for_the_right_key(artifacts: Path) -> None:
    with _client(artifacts) as client:
        for _ in range(5):
            assert client.post("/admin/reload", headers=AUTH).status_code == 200  # successes do not count
        assert client.post("/admin/reload").status_code == 401  # no credentials: not a failure
        assert [client.post("/admin/reload", headers=WRONG).status_code for _ in range(3)] == [401, 401, 401]
        blocked = client.post("/admin/reload", headers=AUTH)
        assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 300
        assert blocked.json()["error"] == "rate_limited" and "failed authentications" in blocked.json()["message"]
        assert client.get("/recommend/c1", params={"record": "false"}, headers=AUTH).status_code == 429
        assert client.get("/recommend/c1").status_code == 200  # public reads take no credentials
        other = TestClient(client.app, client=("10.2.2.2", 1234))
        assert other.post("/admin/reload", headers=AUTH).status_code == 200
        metrics = client.get("/metrics").text
        assert 'microoffers_auth_failures_total{scheme="bearer"} 3.0' in metrics
        assert 'microoffers_auth_blocked_total{scheme="bearer"} 2.0' in metrics


def test_basic_and_the_sign_in_form_share_the_count(artifacts: Path) -> None:
    with _client(artifacts) as client:
        assert client.get("/preview", auth=("marketer", "wrong")).status_code == 401
        assert client.post("/events", json={}, headers=WRONG).status_code == 401
        form = {"user": "marketer", "password": "wrong", "next": "/preview"}
        assert client.post("/preview/session", data=form).status_code == 401
        assert client.get("/preview", auth=MARKETER).status_code == 429
        signed_in = client.post("/preview/session", data={**form, "password": API_KEY}, follow_redirects=False)
        assert signed_in.status_code == 429 and int(signed_in.headers["retry-after"]) >= 1
        assert "Too many failed sign-ins" in signed_in.text and "set-cookie" not in signed_in.headers
        metrics = client.get("/metrics").text
        for scheme in ("basic", "bearer", "form"):
            assert f'microoffers_auth_failures_total{{scheme="{scheme}"}} 1.0' in metrics
