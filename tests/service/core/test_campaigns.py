"""The schedule and the contact policy behind a campaign's send times, hand-computed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.rules.contact import ContactPolicy
from service.core.campaigns import allowed_contact_time, first_slot
from service.http.schemas import CampaignOut

POLICY = ContactPolicy(time(21, 0), time(9, 0), timedelta(days=3), "Europe/London")
LONDON, TOKYO = ZoneInfo("Europe/London"), ZoneInfo("Asia/Tokyo")


def _campaign(start: date, end: date | None = None, send: str = "10:00") -> CampaignOut:
    return CampaignOut(
        id="c000000000001",
        name="x",
        segment_id=0,
        channel="email",
        start=start,
        end=end,
        send_time=send,
        created_by="t",
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("country", "asked", "last", "allowed"),
    [
        (None, datetime(2030, 3, 4, 12, 0, tzinfo=UTC), None, datetime(2030, 3, 4, 12, 0, tzinfo=UTC)),
        # 22:00 in London is quiet: 09:00 the next morning
        (None, datetime(2030, 3, 4, 22, 0, tzinfo=UTC), None, datetime(2030, 3, 5, 9, 0, tzinfo=UTC)),
        # 12:00 UTC is 21:00 in Tokyo: quiet until 09:00 Tokyo = 00:00 UTC
        ("Japan", datetime(2030, 3, 4, 12, 0, tzinfo=UTC), None, datetime(2030, 3, 5, 0, 0, tzinfo=UTC)),
        # contacted a day ago: three days after that contact
        (
            None,
            datetime(2030, 3, 4, 12, 0, tzinfo=UTC),
            datetime(2030, 3, 3, 12, 0, tzinfo=UTC),
            datetime(2030, 3, 6, 12, 0, tzinfo=UTC),
        ),
        # the interval ends at 23:00: then quiet hours, so 09:00 the morning after
        (
            None,
            datetime(2030, 3, 4, 12, 0, tzinfo=UTC),
            datetime(2030, 3, 1, 23, 0, tzinfo=UTC),
            datetime(2030, 3, 5, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_allowed_contact_time(country: str | None, asked: datetime, last: datetime | None, allowed: datetime) -> None:
    assert allowed_contact_time(country, asked, POLICY, last) == allowed


def test_first_slot_is_the_send_time_on_the_start_day_or_the_next_day_still_ahead() -> None:
    campaign = _campaign(date(2030, 3, 10), date(2030, 3, 12))
    before = datetime(2030, 3, 1, 8, 0, tzinfo=LONDON)
    assert first_slot(campaign, before) == datetime(2030, 3, 10, 10, 0, tzinfo=LONDON)
    late_on_day_two = datetime(2030, 3, 11, 11, 0, tzinfo=LONDON)
    assert first_slot(campaign, late_on_day_two) == datetime(2030, 3, 12, 10, 0, tzinfo=LONDON)
    assert first_slot(campaign, datetime(2030, 3, 12, 10, 1, tzinfo=LONDON)) is None


def test_send_time_is_on_the_customers_clock() -> None:
    slot = first_slot(_campaign(date(2030, 3, 10)), datetime(2030, 3, 1, tzinfo=TOKYO))
    assert slot is not None and slot.astimezone(UTC) == datetime(2030, 3, 10, 1, 0, tzinfo=UTC)


def test_a_send_never_lands_on_the_customers_rest_day_or_holiday() -> None:
    """Campaigns ask the same calendar as /outbound: a Friday in Saudi Arabia (rest days Friday
    and Saturday) moves to Sunday morning there; Christmas Day in the UK moves to the next allowed day."""
    friday_noon_riyadh = datetime(2030, 3, 8, 9, 0, tzinfo=UTC)
    moved = allowed_contact_time("Saudi Arabia", friday_noon_riyadh, POLICY, None)
    assert moved.astimezone(ZoneInfo("Asia/Riyadh")) == datetime(2030, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Riyadh"))
    christmas = allowed_contact_time("United Kingdom", datetime(2030, 12, 25, 12, 0, tzinfo=UTC), POLICY, None)
    assert christmas.astimezone(LONDON).date() > date(2030, 12, 25)
