"""/metrics after real traffic: latency histograms and status codes per route template, cache hits
and misses, degraded answers, events, and the served model's version and age."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from models.contract.artifact import Artifact
from tests.support.apps import client_for
from tests.support.keys import AUTH
from tests.support.redis_server import RedisServer
from training.publish import publish


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_lookups_events_and_model_are_measured(artifacts: Path, artifact: Artifact) -> None:
    known = [str(c) for c in artifact.customers.ids[:3]]
    with client_for(artifacts) as client:
        for customer in known:
            assert client.get(f"/recommend/{customer}").status_code == 200
        assert client.get("/recommend/unknown-1").status_code == 200
        assert client.get("/recommend/13085?k=0").status_code == 422
        event = {"customer_id": known[0], "item_id": str(artifact.items.ids[0]), "type": "click"}
        assert client.post("/events", json=event, headers=AUTH).status_code == 202
        samples = _samples(client)
        text = client.get("/metrics").text

    route = "/recommend/{customer_id}"
    assert _value(samples, "microoffers_http_request_duration_seconds_count", method="GET", route=route) == 5
    assert _value(samples, "microoffers_http_responses_total", method="GET", route=route, status="200") == 4
    assert _value(samples, "microoffers_http_responses_total", method="GET", route=route, status="422") == 1
    assert _value(samples, "microoffers_customer_lookups_total", store="embedded", result="hit") == 3
    assert _value(samples, "microoffers_customer_lookups_total", store="embedded", result="miss") == 1
    clicks = [
        v
        for (name, labels), v in samples.items()
        if name == "microoffers_feedback_events_total" and ("type", "click") in labels
    ]
    assert clicks == [1]
    assert _value(samples, "microoffers_model_info", version=artifact.version) == 1
    assert _value(samples, "microoffers_model_loaded_info", version=artifact.version) == 1
    assert 0 < _value(samples, "microoffers_model_age_seconds") < 365 * 86_400
    assert _value(samples, "microoffers_model_data_age_seconds") > _value(samples, "microoffers_model_age_seconds")
    assert "13085" not in text and "unknown-1" not in text  # route templates, never raw paths


@pytest.mark.redis
def test_degraded_answers_are_counted(artifacts: Path, artifact: Artifact, own_redis: RedisServer) -> None:
    publish(artifact, redis.Redis.from_url(own_redis.url))
    customer = str(artifact.customers.ids[0])
    with client_for(artifacts, own_redis.url) as client:
        assert client.get(f"/recommend/{customer}").json()["degraded"] is False
        own_redis.stop()
        for _ in range(3):
            assert client.get(f"/recommend/{customer}").json()["degraded"] is True
        samples = _samples(client)
    assert _value(samples, "microoffers_degraded_answers_total", reason="fallback") == 3
    assert _value(samples, "microoffers_customer_lookups_total", store="redis", result="hit") == 1
    assert _value(samples, "microoffers_model_info", version=artifact.version) == 1  # from the fallback
