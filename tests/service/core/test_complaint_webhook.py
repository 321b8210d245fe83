"""Complaints and returns are POSTed to a real local HTTP server (threaded `http.server` on a
free port) that fails the first attempt and accepts the retry; the signature verifies with the
shared secret; the event request is answered 202 whatever the webhook does; metrics count it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact
from service.app import create_app
from service.core.complaint_webhook import SIGNATURE_HEADER, signature, verify
from service.settings import Settings
from tests.support.apps import settings_for
from tests.support.keys import AUTH
from tests.support.waiting import wait_until

SECRET = "webhook-secret-for-tests"


class Receiver:
    """Answers 500 to the first `failures` POSTs, then 204; keeps every attempt."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.attempts) <= receiver.failures else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/complaints"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _settings(artifacts: Path, url: str, retries: int = 3) -> Settings:
    return settings_for(
        artifacts,
        complaint_webhook_url=url,
        complaint_webhook_secret=SECRET,
        complaint_webhook_retries=retries,
        complaint_webhook_backoff_s=0.05,
        complaint_webhook_drain_s=2,
    )


def _metric(client: TestClient, outcome: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'microoffers_complaint_webhook_total{{outcome="{outcome}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def customer_and_item(artifact: Artifact) -> Iterator[tuple[str, str]]:
    yield str(artifact.customers.ids[0]), str(artifact.items.ids[0])


def test_a_complaint_is_retried_after_a_failure_and_arrives_signed(
    artifacts: Path, customer_and_item: tuple[str, str]
) -> None:
    customer, item = customer_and_item
    with Receiver(failures=1) as receiver, TestClient(create_app(_settings(artifacts, receiver.url))) as client:
        events = [
            {"customer_id": customer, "item_id": item, "type": "purchase"},
            {"customer_id": customer, "item_id": item, "type": "complaint", "timestamp": "2024-03-04T10:00:00Z"},
        ]
        resp = client.post("/events", json={"events": events}, headers=AUTH)
        assert resp.status_code == 202, resp.text
        assert wait_until(lambda: _metric(client, "delivered") == 1, timeout=10)
        assert _metric(client, "retried") == 1 and _metric(client, "failed") == 0
    assert len(receiver.attempts) == 2  # the purchase is not sent; the complaint twice
    (first_headers, first_body), (headers, body) = receiver.attempts
    assert body == first_body
    assert verify(SECRET.encode(), headers[SIGNATURE_HEADER], body, time.time())
    assert not verify(b"another secret", headers[SIGNATURE_HEADER], body, time.time())
    assert not verify(SECRET.encode(), headers[SIGNATURE_HEADER], body + b" ", time.time())
    sent = orjson.loads(body)
    assert sent == {
        "id": resp.json()["ids"][1],
        "type": "complaint",
        "customer_id": customer,
        "item_id": item,
        "timestamp": "2024-03-04T10:00:00.000Z",
        "quantity": 1,
        "section": "none",
        "segment": sent["segment"],
    }
    assert sent["segment"].isdigit()
    assert headers["Content-Type"] == "application/json"


def test_a_webhook_that_never_answers_well_fails_without_failing_the_event(
    artifacts: Path, customer_and_item: tuple[str, str]
) -> None:
    customer, item = customer_and_item
    with Receiver(failures=100) as receiver, TestClient(create_app(_settings(artifacts, receiver.url, 2))) as client:
        resp = client.post("/events", json={"customer_id": customer, "item_id": item, "type": "return"}, headers=AUTH)
        assert resp.status_code == 202
        assert wait_until(lambda: _metric(client, "failed") == 1, timeout=10)
        assert _metric(client, "delivered") == 0 and _metric(client, "retried") == 2
    assert len(receiver.attempts) == 3 and orjson.loads(receiver.attempts[0][1])["type"] == "return"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature(b"k", 1_700_000_000, b"{}") == f"t=1700000000,v1={expected}"
    assert verify(b"k", f"t=1700000000,v1={expected}", b"{}", now=1_700_000_100)
    assert not verify(b"k", f"t=1700000000,v1={expected}", b"{}", now=1_700_001_000)  # stale: a replay
    assert not verify(b"k", "v1=abc", b"{}", now=1_700_000_000)


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("ftp://x", SECRET, "complaint_webhook_url\n  Value error, not an http"),
        ("https://hooks.example/x", None, "SECRET must be set"),
    ],
)
def test_bad_webhook_settings_are_refused_at_start(tmp_path: Path, url: str, secret: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        settings_for(tmp_path, complaint_webhook_url=url, complaint_webhook_secret=secret)


def test_the_readmes_verification_snippet_accepts_exactly_our_signatures() -> None:
    """Receivers copy the README's snippet: it must agree with what the service sends."""
    import re

    from tests.support.paths import ROOT

    readme = (ROOT / "README.md").read_text()
    found = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", readme, re.S)
    assert found is not None
    namespace: dict[str, object] = {}
    exec(found.group(1), namespace)  # noqa: S102 - the project's own README
    check = namespace["verify"]
    body, now = b'{"id": "1-0"}', int(time.time())
    assert check(SECRET.encode(), signature(SECRET.encode(), now, body), body) is True  # type: ignore[operator]
    assert check(b"wrong", signature(SECRET.encode(), now, body), body) is False  # type: ignore[operator]
    assert check(SECRET.encode(), signature(SECRET.encode(), now - 3600, body), body) is False  # type: ignore[operator]
