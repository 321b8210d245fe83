"""Fuzz every operation of the service's own OpenAPI schema (schemathesis), with valid and
invalid data: whatever a client sends, the answer is never a server error and always matches
the documented schema (status codes, content types, bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.app import create_app
from service.settings import Settings

API_KEY = "fuzz-key-0123456789"
_SPEC = create_app(Settings(artifacts=Path("unused"))).openapi()["paths"]
# Invalid data can only be generated for operations that take some input.
CASES = [
    pytest.param(f"{method.upper()} {path}", mode, id=f"{method.upper()} {path} {mode.value}")
    for path, methods in _SPEC.items()
    for method, spec in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]


# POST /events refuses timestamps ahead of the clock, and both it and /outbound?now= times outside
# 2000-2100: rules of time that a
# JSON schema cannot express, so schema-valid timestamps may rightly be refused.
# POST /campaigns takes exactly one of segment_id and customer_ids, an end after the start, and a
# segment and item of the served model: rules across fields and of the data, not of the schema.
# POST /experiments refuses variants with the same name and versions that are not published.
# A business rule's fields depend on each other (a pin names exactly one of item_id or category, a
# diversity rule takes max_per_category, end after start): schema-valid rules may rightly be refused.
EXCLUDED = {
    "POST /events": [positive_data_acceptance],
    "GET /outbound/{customer_id}": [positive_data_acceptance],
    "POST /campaigns": [positive_data_acceptance],
    "POST /experiments": [positive_data_acceptance],
    "POST /rules": [positive_data_acceptance],
    "PUT /rules/{rule_id}": [positive_data_acceptance],
}


@pytest.fixture(scope="module")
def running_app(trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    own = tmp_path_factory.mktemp("fuzz")  # fuzzed writes (events, forgotten ids) stay out of the shared artifacts
    app = create_app(
        Settings(
            artifacts=trained_artifacts,
            api_key=API_KEY,
            access_log=False,
            events_log=own / "events.jsonl",
            forgotten_file=own / "forgotten.txt",
            campaigns_file=own / "campaigns.json",
            rules_dir=own / "rules",
            write_burst=1_000_000,
            write_rate_per_s=1_000_000,
        )
    )
    with TestClient(app):  # runs the lifespan: store and artifact are open while fuzzing
        yield app


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_server_errors_and_responses_match_schema(running_app: FastAPI, label: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", running_app)

    @schema.auth()
    class BearerKey:
        def get(self, case, ctx):  # type: ignore[no-untyped-def]
            return API_KEY

        def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    operation = schema.find_operation_by_label(label)
    assert operation is not None, label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(excluded_checks=EXCLUDED.get(label, []))

    run()
