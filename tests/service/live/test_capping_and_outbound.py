"""Frequency capping and the outbound contact policy, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import ValidationError

from models.contract.artifact import Artifact
from service.settings import Settings
from tests.support.clocks import FixedClock
from tests.support.keys import AUTH
from tests.support.live import AppFactory, item_ids, known_customer, post


def test_items_shown_n_times_without_click_rotate_down(
    make_client: AppFactory, artifact: Artifact, clock: FixedClock
) -> None:
    customer = known_customer(artifact, 8)
    with make_client(cap_impressions=3) as client:
        first = item_ids(client, customer, k=5)
        assert item_ids(client, customer, k=5) == first
        assert item_ids(client, customer, k=5) == first  # third impression
        rotated = item_ids(client, customer, k=5)
        assert not set(rotated) & set(first)
        post(client, {"customer_id": customer, "item_id": first[0], "type": "click"})
        assert item_ids(client, customer, k=5)[0] == first[0]  # a click lifts the cap
        clock.advance(3601)  # the window (cap_window_s = 3600) has passed for the others too
        assert item_ids(client, customer, k=5) == first


def test_impression_events_count_towards_the_cap(make_client: AppFactory, artifact: Artifact) -> None:
    customer = known_customer(artifact, 9)
    with make_client(cap_impressions=3) as client:
        top = item_ids(client, customer, k=3)[0]  # one impression by the response itself
        post(client, *({"customer_id": customer, "item_id": top, "type": "impression"} for _ in range(2)))
        assert top not in item_ids(client, customer, k=3)


def _customer_in(artifact: Artifact, country: str) -> str:
    """The first customer from `country`. The slice (the first 400 customers of the bundled year)
    has 12 from Australia, 44 from France, 64 from Germany and 95 from the United Kingdom; should
    it ever have none, the test fails here rather than passing without having run."""
    assert artifact.countries is not None
    rows = np.flatnonzero(artifact.countries == country)
    assert len(rows) > 0, f"no customer from {country} in the slice: choose another country or slice"
    return str(artifact.customers.ids[rows[0]])


def _outbound(client, customer: str, now: str, **params: object) -> Response:
    return client.get(f"/outbound/{customer}", params={"now": now, **params}, headers=AUTH)


@pytest.mark.parametrize(
    ("country", "now", "quiet_until"),
    [
        ("Germany", "2024-06-03T20:30:00Z", "2024-06-04T07:00:00+00:00"),  # 22:30 in Berlin (CEST)
        ("United Kingdom", "2024-01-15T07:30:00Z", "2024-01-15T09:00:00+00:00"),  # 07:30 in London (GMT)
        ("Australia", "2024-06-03T12:00:00Z", "2024-06-03T23:00:00+00:00"),  # 22:00 in Sydney
    ],
)
def test_quiet_hours_follow_the_customers_country(
    client: TestClient, artifact: Artifact, country: str, now: str, quiet_until: str
) -> None:
    resp = _outbound(client, _customer_in(artifact, country), now)
    assert resp.status_code == 204 and resp.content == b""
    assert resp.headers["X-Outbound-Reason"] == "quiet_hours"
    assert resp.headers["X-Outbound-Next-At"] == quiet_until


@pytest.mark.parametrize(
    ("country", "now", "reason", "next_allowed"),
    [
        ("Bahrain", "2024-06-07T09:00:00Z", "rest_day", "2024-06-09T06:00:00+00:00"),  # Fri: Sunday 09:00
        ("United Arab Emirates", "2024-03-01T08:00:00Z", "rest_day", "2024-03-02T05:00:00+00:00"),  # a Friday
        ("Israel", "2024-03-02T10:00:00Z", "rest_day", "2024-03-03T07:00:00+00:00"),  # Shabbat
        ("Germany", "2024-06-02T10:00:00Z", "rest_day", "2024-06-03T07:00:00+00:00"),  # a Sunday
        ("United Kingdom", "2024-12-24T22:00:00Z", "quiet_hours", "2024-12-27T09:00:00+00:00"),  # then 25, 26
        ("United Kingdom", "2024-12-25T12:00:00Z", "holiday", "2024-12-27T09:00:00+00:00"),
        ("France", "2024-05-08T12:00:00Z", "holiday", "2024-05-10T07:00:00+00:00"),  # 8 May, then Ascension
    ],
)
def test_outbound_answers_the_next_allowed_time_of_the_customers_week(
    client: TestClient, artifact: Artifact, country: str, now: str, reason: str, next_allowed: str
) -> None:
    customer = _customer_in(artifact, country)
    resp = _outbound(client, customer, now)
    assert resp.status_code == 204 and resp.headers["X-Outbound-Reason"] == reason
    assert resp.headers["X-Outbound-Next-At"] == next_allowed
    assert _outbound(client, customer, next_allowed, dry_run="true").status_code == 200  # open from then on
    assert "outbound" not in client.get("/feedback/summary").json()["by_section"]  # nothing was sent


def test_rest_days_and_holidays_follow_the_settings(make_client: AppFactory, artifact: Artifact) -> None:
    uk, germany = _customer_in(artifact, "United Kingdom"), _customer_in(artifact, "Germany")
    with make_client(contact_rest_days=False, contact_holidays=False) as client:
        assert _outbound(client, germany, "2024-06-02T10:00:00Z", dry_run="true").status_code == 200
        assert _outbound(client, uk, "2024-12-25T12:00:00Z", dry_run="true").status_code == 200
    with make_client(contact_rest_day_overrides={"United Kingdom": ["sun"], "DE": []}) as client:
        sunday = _outbound(client, uk, "2024-06-02T10:00:00Z")
        assert sunday.status_code == 204 and sunday.headers["X-Outbound-Reason"] == "rest_day"
        assert sunday.headers["X-Outbound-Next-At"] == "2024-06-03T08:00:00+00:00"  # Monday 09:00 BST
        assert _outbound(client, germany, "2024-06-02T10:00:00Z", dry_run="true").status_code == 200


def test_outbound_sends_once_then_waits_the_minimum_interval(client: TestClient, artifact: Artifact) -> None:
    customer = _customer_in(artifact, "Germany")
    offer = _outbound(client, customer, "2024-06-03T10:00:00Z")
    assert offer.status_code == 200
    body = offer.json()
    assert body["timezone"] == "Europe/Berlin" and body["local_time"].startswith("2024-06-03T12:00:00")
    assert body["item"]["item_id"] == item_ids(client, customer, k=1)[0]
    again = _outbound(client, customer, "2024-06-04T09:59:00Z")
    assert again.status_code == 204 and again.headers["X-Outbound-Reason"] == "contacted_recently"
    assert again.headers["X-Outbound-Next-At"] == "2024-06-04T10:00:00+00:00"
    assert _outbound(client, customer, "2024-06-04T10:00:00Z").status_code == 200


def test_dry_run_does_not_count_as_contact(client: TestClient, artifact: Artifact) -> None:
    customer = _customer_in(artifact, "France")
    assert _outbound(client, customer, "2024-06-03T10:00:00Z", dry_run="true").status_code == 200
    assert "outbound" not in client.get("/feedback/summary").json()["by_section"]
    assert _outbound(client, customer, "2024-06-03T10:01:00Z").status_code == 200
    assert client.get("/feedback/summary").json()["by_section"]["outbound"]["impressions"] == 1


def test_unknown_customer_uses_default_time_zone(client: TestClient) -> None:
    resp = _outbound(client, "stranger", datetime(2024, 1, 15, 21, 30, tzinfo=UTC).isoformat())
    assert resp.status_code == 204 and resp.headers["X-Outbound-Reason"] == "quiet_hours"  # 21:30 London
    resp = _outbound(client, "stranger", "2024-01-15T12:00:00Z")
    assert resp.status_code == 200 and resp.json()["source"] == "popular"


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "tomorrow"])
def test_outbound_refuses_implausible_now(client: TestClient, now: str) -> None:
    resp = _outbound(client, "stranger", now)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "now"


def test_outbound_needs_the_api_key(client: TestClient, artifact: Artifact) -> None:
    resp = client.get(f"/outbound/{known_customer(artifact)}")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"


def test_a_bad_rest_day_override_stops_the_service_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROOFFERS_CONTACT_REST_DAY_OVERRIDES", '{"Saudi Arabia": ["friday"]}')
    with pytest.raises(ValidationError) as caught:
        Settings()
    error = caught.value.errors()[0]
    assert error["loc"] == ("contact_rest_day_overrides",) and "unknown day(s) ['friday']" in error["msg"]
