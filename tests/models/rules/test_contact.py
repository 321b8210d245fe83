"""The contact policy's calendar: quiet hours, rest days, holidays and the minimum interval, and
the one next allowed time every surface shows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.contact import (
    COUNTRY_CODES,
    COUNTRY_TIMEZONES,
    ContactPolicy,
    contact_block,
    country_code,
    holiday_name,
    next_allowed_contact,
    rest_day_overrides,
)

POLICY = ContactPolicy(time(21, 0), time(9, 0), timedelta(days=3), "Europe/London")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("country", "now", "reason", "allowed"),
    [
        # Friday noon in Riyadh: Friday and Saturday are closed, Sunday 09:00 local (UTC+3) opens
        ("Saudi Arabia", "2024-06-07T09:00", "rest_day", "2024-06-09T06:00"),
        # Saturday in Bahrain too (the weekend is Fri-Sat)
        ("Bahrain", "2024-06-08T09:00", "rest_day", "2024-06-09T06:00"),
        # Friday in Dubai (UTC+4): Saturday 09:00
        ("United Arab Emirates", "2024-03-01T08:00", "rest_day", "2024-03-02T05:00"),
        # Shabbat in Jerusalem (UTC+2 in early March): Sunday 09:00
        ("Israel", "2024-03-02T10:00", "rest_day", "2024-03-03T07:00"),
        # Sunday in Berlin (CEST): Monday 09:00
        ("Germany", "2024-06-02T10:00", "rest_day", "2024-06-03T07:00"),
        # Christmas and Boxing Day in London: the 27th at 09:00
        ("United Kingdom", "2024-12-25T12:00", "holiday", "2024-12-27T09:00"),
        # St Patrick's Day in Dublin
        ("EIRE", "2025-03-17T12:00", "holiday", "2025-03-18T09:00"),
    ],
)
def test_rest_days_and_holidays_close_the_whole_local_day(country: str, now: str, reason: str, allowed: str) -> None:
    assert contact_block(country, utc(now), POLICY, None) == reason
    assert next_allowed_contact(country, utc(now), POLICY, None) == utc(allowed)


@pytest.mark.parametrize(
    ("country", "now"),
    [
        ("United Kingdom", "2024-03-03T12:00"),  # a Sunday: no rest day in the UK
        ("Saudi Arabia", "2024-06-09T09:00"),  # Sunday in Riyadh is a working day
        ("Israel", "2024-03-01T10:00"),  # Friday in Israel
        ("United Kingdom", "2025-03-17T12:00"),  # St Patrick's Day is no UK-wide holiday
        ("European Community", "2024-12-25T12:00"),  # no single country: no holidays
    ],
)
def test_ordinary_days_are_open(country: str, now: str) -> None:
    assert contact_block(country, utc(now), POLICY, None) is None
    assert next_allowed_contact(country, utc(now), POLICY, None) == utc(now)


def test_the_next_allowed_time_skips_a_holiday_that_follows_quiet_hours() -> None:
    """22:00 on Christmas Eve in London: quiet until 09:00, but the 25th and 26th are holidays."""
    now = utc("2024-12-24T22:00")
    assert contact_block("United Kingdom", now, POLICY, None) == "quiet_hours"
    assert next_allowed_contact("United Kingdom", now, POLICY, None) == utc("2024-12-27T09:00")
    off = ContactPolicy(time(21, 0), time(9, 0), timedelta(days=3), "Europe/London", holidays=False)
    assert next_allowed_contact("United Kingdom", now, off, None) == utc("2024-12-25T09:00")


def test_the_minimum_interval_can_end_on_a_rest_day() -> None:
    """Contacted on Wednesday in Riyadh; three days later is Saturday: the answer is Sunday morning."""
    last = utc("2024-06-05T10:00")
    now = utc("2024-06-06T10:00")
    assert contact_block("Saudi Arabia", now, POLICY, last) == "contacted_recently"
    assert next_allowed_contact("Saudi Arabia", now, POLICY, last) == utc("2024-06-09T06:00")


def test_unknown_country_follows_the_default_time_zones_country() -> None:
    assert country_code(None, "Europe/London") == "GB"
    assert country_code("Unspecified", "Europe/Berlin") == "DE"
    assert country_code("Atlantis", "Pacific/Chatham") is None  # no shop country there: no calendar
    assert contact_block(None, utc("2024-12-25T12:00"), POLICY, None) == "holiday"
    assert contact_block("Unspecified", utc("2024-12-25T12:00"), POLICY, None) == "holiday"


def test_every_shop_country_with_a_time_zone_has_a_code_entry_and_the_library_knows_it() -> None:
    assert set(COUNTRY_CODES) == set(COUNTRY_TIMEZONES)
    assert holiday_name("IE", datetime(2025, 3, 17).date()) == "Saint Patrick's Day"
    assert holiday_name("GB", datetime(2024, 12, 25).date()) == "Christmas Day"


def test_rest_days_can_be_turned_off_or_replaced_per_country() -> None:
    sunday = utc("2024-03-03T12:00")
    overridden = ContactPolicy(
        time(21, 0), time(9, 0), timedelta(0), "Europe/London", rest_day_overrides=rest_day_overrides({"UK": ["sun"]})
    )
    assert contact_block("United Kingdom", sunday, overridden, None) == "rest_day"
    assert (
        contact_block(
            "Germany",
            utc("2024-06-02T10:00"),
            ContactPolicy(time(21, 0), time(9, 0), timedelta(0), "Europe/London", rest_days=False),
            None,
        )
        is None
    )
    cleared = ContactPolicy(
        time(21, 0), time(9, 0), timedelta(0), "Europe/London", rest_day_overrides=rest_day_overrides({"SA": []})
    )
    assert contact_block("Saudi Arabia", utc("2024-06-07T09:00"), cleared, None) is None


@pytest.mark.parametrize(
    ("given_days", "message"),
    [
        ({"Atlantis": ["sun"]}, "unknown country 'Atlantis'"),
        ({"GB": ["sunday"]}, "unknown day(s) ['sunday']"),
        ({"GB": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}, "leaves no day"),
    ],
)
def test_bad_rest_day_overrides_are_refused_naming_what_is_wrong(
    given_days: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        rest_day_overrides(given_days)


@settings(max_examples=300, deadline=None)
@given(
    country=st.sampled_from([*COUNTRY_TIMEZONES, None, "Unspecified"]),
    now=st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    since_last=st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))),
    quiet=st.tuples(st.times(), st.times()),
)
def test_the_next_allowed_time_is_allowed_and_nothing_before_it_is(
    country: str | None, now: datetime, since_last: timedelta | None, quiet: tuple[time, time]
) -> None:
    """Allowed itself, never before now, and every hour boundary between now and it is closed."""
    policy = ContactPolicy(quiet[0], quiet[1], timedelta(days=1), "Europe/London")
    last = None if since_last is None else now - since_last
    allowed = next_allowed_contact(country, now, policy, last)
    assert allowed >= now
    assert contact_block(country, allowed, policy, last) is None
    probe = now
    while probe < allowed:
        assert contact_block(country, probe, policy, last) is not None
        probe += timedelta(minutes=30)
