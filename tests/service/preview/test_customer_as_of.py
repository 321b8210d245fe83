"""The customer page as of a chosen moment (`?at=`): a day is its start in UTC, a time is read
as UTC without a zone, and anything else re-renders the lookup naming the problem (422)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from service.preview.moments import parse_moment
from tests.support.keys import MARKETER


def test_a_day_or_a_time_is_a_moment_in_utc() -> None:
    assert parse_moment("2026-12-10") == datetime(2026, 12, 10, tzinfo=UTC)
    assert parse_moment(" 2026-12-10T09:30 ") == datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
    assert parse_moment("2026-12-10T10:30+01:00") == datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_moment("next week")


def test_the_page_says_which_moment_it_shows(client: TestClient) -> None:
    customer = "12346"
    page = client.get("/preview/customers", params={"customer_id": customer, "at": "2026-12-10"}, auth=MARKETER)
    assert page.status_code == 200 and "As of" in page.text and "2026-12-10 00:00 UTC" in page.text
    assert 'value="2026-12-10"' in page.text  # the box keeps the day
    today = client.get("/preview/customers", params={"customer_id": customer}, auth=MARKETER)
    assert "As of" not in today.text


def test_a_bad_moment_names_the_problem(client: TestClient) -> None:
    page = client.get("/preview/customers", params={"customer_id": "12346", "at": "soon"}, auth=MARKETER)
    assert page.status_code == 422 and "is not a day or time" in page.text
