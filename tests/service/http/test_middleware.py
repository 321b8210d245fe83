"""Request ids, structured access logs without customer ids or keys, security headers, CORS."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.observability.logs import configure_json_logging, hash_id
from service.settings import Settings


@pytest.fixture
def app_client(trained_artifacts: Path):  # type: ignore[no-untyped-def]
    with TestClient(create_app(Settings(artifacts=trained_artifacts))) as c:
        yield c


def test_request_id_generated_or_echoed(app_client: TestClient) -> None:
    generated = {app_client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3  # a new id per request
    assert all(re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", g) for g in generated)
    assert app_client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert app_client.get("/health", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def test_security_headers(app_client: TestClient) -> None:
    resp = app_client.get("/docs")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]


def test_access_log_names_route_not_customer(app_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="microoffers.access"):
        app_client.get("/recommend/13085?k=2", headers={"Authorization": "Bearer sekrit"})
    records = [r for r in caplog.records if r.name == "microoffers.access"]
    # `extra=` fields are set on the record, so they are in its __dict__ but not in LogRecord's type.
    assert records and vars(records[-1])["route"] == "/recommend/{customer_id}" and vars(records[-1])["status"] == 200
    text = " ".join(json.dumps(r.__dict__, default=str) for r in records)
    assert "13085" not in text and "sekrit" not in text


def test_customer_id_logged_hashed_when_enabled(trained_artifacts: Path, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(Settings(artifacts=trained_artifacts, log_customer_ids=True))) as c:
        with caplog.at_level(logging.INFO, logger="microoffers.access"):
            c.get("/recommend/13085?k=2")
    record = [r for r in caplog.records if r.name == "microoffers.access"][-1]
    assert vars(record)["customer"] == hash_id("13085") and vars(record)["customer"] != "13085"


def test_json_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_json_logging("INFO")
    try:
        logging.getLogger("microoffers.access").info("request", extra={"route": "/x", "status": 200})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert json.loads(line)["route"] == "/x"
    finally:
        logging.getLogger().handlers[:] = []


def test_cors_closed_by_default_and_configurable(trained_artifacts: Path, app_client: TestClient) -> None:
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in app_client.options("/recommend/1", headers=headers).headers
    settings = Settings(artifacts=trained_artifacts, cors_origins=["https://shop.example"])
    with TestClient(create_app(settings)) as c:
        resp = c.options("/recommend/1", headers=headers)
        assert resp.headers["access-control-allow-origin"] == "https://shop.example"
