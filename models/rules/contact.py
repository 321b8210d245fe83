"""The contact policy's calendar: when a customer may be sent a message, in their own week.

No message during the customer's quiet hours (local time of their country), on their country's
weekly rest days, on its public holidays (the maintained `holidays` library), or sooner than the
minimum interval after the previous contact. `next_allowed_contact` is the one answer every
surface uses (`/outbound`, a campaign's "when"): the moment itself when contact is allowed now,
else the first moment it is.

Countries are the shop's names ("United Kingdom", "EIRE", "RSA", ...), mapped to ISO codes here.
A customer without a known country is treated as living in the default time zone's country
(Europe/London: the United Kingdom); a known name without a single country ("European
Community", "West Indies") keeps its time zone but has no rest days and no holidays.

Rest days (`REST_DAYS`) are the days a commercial message is unwelcome, not every day off:
Friday (and Saturday where the weekend is Fri-Sat) in the Gulf, Saturday in Israel, Sunday where
a Sunday rest law protects it (Germany, Austria, Switzerland, Norway, Poland). Other countries,
the United Kingdom among them, have none: Sunday shopping and Sunday e-mail are ordinary there.
Settings turn rest days or holidays off, or replace a country's rest days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the settings' names, Monday = 0

# Countries of the Online Retail data (and common spellings) -> a representative time zone.
COUNTRY_TIMEZONES: dict[str, str] = {
    "United Kingdom": "Europe/London",
    "UK": "Europe/London",
    "EIRE": "Europe/Dublin",
    "Ireland": "Europe/Dublin",
    "Channel Islands": "Europe/Jersey",
    "France": "Europe/Paris",
    "Germany": "Europe/Berlin",
    "Netherlands": "Europe/Amsterdam",
    "Belgium": "Europe/Brussels",
    "European Community": "Europe/Brussels",
    "Spain": "Europe/Madrid",
    "Portugal": "Europe/Lisbon",
    "Switzerland": "Europe/Zurich",
    "Italy": "Europe/Rome",
    "Austria": "Europe/Vienna",
    "Sweden": "Europe/Stockholm",
    "Norway": "Europe/Oslo",
    "Denmark": "Europe/Copenhagen",
    "Finland": "Europe/Helsinki",
    "Iceland": "Atlantic/Reykjavik",
    "Poland": "Europe/Warsaw",
    "Czech Republic": "Europe/Prague",
    "Lithuania": "Europe/Vilnius",
    "Greece": "Europe/Athens",
    "Cyprus": "Asia/Nicosia",
    "Malta": "Europe/Malta",
    "Israel": "Asia/Jerusalem",
    "Lebanon": "Asia/Beirut",
    "Bahrain": "Asia/Bahrain",
    "Saudi Arabia": "Asia/Riyadh",
    "United Arab Emirates": "Asia/Dubai",
    "RSA": "Africa/Johannesburg",
    "South Africa": "Africa/Johannesburg",
    "Nigeria": "Africa/Lagos",
    "USA": "America/New_York",
    "United States": "America/New_York",
    "Canada": "America/Toronto",
    "Brazil": "America/Sao_Paulo",
    "West Indies": "America/Barbados",
    "Bermuda": "Atlantic/Bermuda",
    "Japan": "Asia/Tokyo",
    "Korea": "Asia/Seoul",
    "Hong Kong": "Asia/Hong_Kong",
    "Singapore": "Asia/Singapore",
    "Thailand": "Asia/Bangkok",
    "Australia": "Australia/Sydney",
}

# The shop's country names -> ISO 3166 codes (`holidays`' keys). None: no single country.
COUNTRY_CODES: dict[str, str | None] = {
    "United Kingdom": "GB",
    "UK": "GB",
    "EIRE": "IE",
    "Ireland": "IE",
    "Channel Islands": "JE",  # Jersey's holidays (Guernsey's are nearly the same)
    "France": "FR",
    "Germany": "DE",
    "Netherlands": "NL",
    "Belgium": "BE",
    "European Community": None,
    "Spain": "ES",
    "Portugal": "PT",
    "Switzerland": "CH",
    "Italy": "IT",
    "Austria": "AT",
    "Sweden": "SE",
    "Norway": "NO",
    "Denmark": "DK",
    "Finland": "FI",
    "Iceland": "IS",
    "Poland": "PL",
    "Czech Republic": "CZ",
    "Lithuania": "LT",
    "Greece": "GR",
    "Cyprus": "CY",
    "Malta": "MT",
    "Israel": "IL",
    "Lebanon": "LB",
    "Bahrain": "BH",
    "Saudi Arabia": "SA",
    "United Arab Emirates": "AE",
    "RSA": "ZA",
    "South Africa": "ZA",
    "Nigeria": "NG",
    "USA": "US",
    "United States": "US",
    "Canada": "CA",
    "Brazil": "BR",
    "West Indies": None,
    "Bermuda": "BM",
    "Japan": "JP",
    "Korea": "KR",
    "Hong Kong": "HK",
    "Singapore": "SG",
    "Thailand": "TH",
    "Australia": "AU",
}

# ISO code -> weekly rest days (Monday = 0). Countries not here have none.
REST_DAYS: dict[str, frozenset[int]] = {
    "SA": frozenset({FRI, SAT}),  # weekend Fri-Sat, Friday the day of prayer
    "BH": frozenset({FRI, SAT}),  # weekend Fri-Sat
    "AE": frozenset({FRI}),  # Friday prayers (the official weekend moved to Sat-Sun in 2022)
    "IL": frozenset({SAT}),  # Shabbat
    "DE": frozenset({SUN}),  # Sunday rest laws
    "AT": frozenset({SUN}),
    "CH": frozenset({SUN}),
    "NO": frozenset({SUN}),
    "PL": frozenset({SUN}),  # Sunday trading ban
}

MAX_STEPS = 800  # two per day for more than a year: a policy leaving no day at all is refused


class ContactSettings(Protocol):
    """What `ContactPolicy.from_settings` reads (`service.settings.Settings` has it)."""

    quiet_hours_start: time
    quiet_hours_end: time
    min_contact_interval_s: float
    default_timezone: str
    contact_rest_days: bool
    contact_holidays: bool
    contact_rest_day_overrides: dict[str, list[str]]


@dataclass(frozen=True)
class ContactPolicy:
    quiet_start: time
    quiet_end: time
    min_interval: timedelta
    default_timezone: str
    rest_days: bool = True
    holidays: bool = True
    rest_day_overrides: Mapping[str, frozenset[int]] = field(default_factory=dict)  # ISO code -> days

    @classmethod
    def from_settings(cls, s: ContactSettings) -> ContactPolicy:
        return cls(
            s.quiet_hours_start,
            s.quiet_hours_end,
            timedelta(seconds=s.min_contact_interval_s),
            s.default_timezone,
            s.contact_rest_days,
            s.contact_holidays,
            rest_day_overrides(s.contact_rest_day_overrides),
        )


def rest_day_overrides(given: Mapping[str, list[str]]) -> dict[str, frozenset[int]]:
    """`{"Saudi Arabia": ["fri"], "GB": ["sun"]}` (shop names or ISO codes, day names) by ISO
    code; raises ValueError naming what is wrong."""
    out: dict[str, frozenset[int]] = {}
    for country, days in given.items():
        code = COUNTRY_CODES.get(country, country.upper() if len(country) == 2 else None)
        if code is None:
            raise ValueError(f"unknown country {country!r} (use a shop country name or an ISO code)")
        unknown = [d for d in days if d.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"{country}: unknown day(s) {unknown} (use {', '.join(WEEKDAYS)})")
        numbers = frozenset(WEEKDAYS.index(d.lower()) for d in days)
        if len(numbers) == len(WEEKDAYS):
            raise ValueError(f"{country}: every day a rest day leaves no day to contact anyone")
        out[code] = numbers
    return out


def timezone_for(country: str | None, default: str) -> ZoneInfo:
    return _zone(COUNTRY_TIMEZONES.get(country or "", default))


@lru_cache(maxsize=256)
def _zone(key: str) -> ZoneInfo:
    """Held here: `ZoneInfo` keeps only the last few zones alive, and re-reading a zone file
    was most of a call's time."""
    return ZoneInfo(key)


def country_code(country: str | None, default_timezone: str) -> str | None:
    """The ISO code of a shop country; unknown or missing: the default time zone's country."""
    if country in COUNTRY_CODES:
        return COUNTRY_CODES[country]
    return _zone_country(default_timezone)


@lru_cache(maxsize=64)
def _zone_country(zone: str) -> str | None:
    """The country of the first shop country with this time zone (none: no rest days, no holidays)."""
    return next((COUNTRY_CODES[c] for c, z in COUNTRY_TIMEZONES.items() if z == zone), None)


def rest_days_of(code: str | None, policy: ContactPolicy) -> frozenset[int]:
    if not policy.rest_days or code is None:
        return frozenset()
    return policy.rest_day_overrides.get(code, REST_DAYS.get(code, frozenset()))


def holiday_name(code: str | None, day: date) -> str | None:
    """The public holiday on `day` in the country (nationwide ones: no subdivision), if any."""
    if code is None:
        return None
    return _holidays(code, day.year).get(day)


@lru_cache(maxsize=512)
def _holidays(code: str, year: int) -> dict[date, str]:
    try:
        found = holidays.country_holidays(code, years=year)
    except NotImplementedError:  # a country the library does not cover: no holidays
        return {}
    return dict(found.items())


def day_blocked(code: str | None, day: date, policy: ContactPolicy) -> str | None:
    """`holiday` or `rest_day` when the whole local day is closed to contact, else None."""
    if policy.holidays and holiday_name(code, day) is not None:
        return "holiday"
    if day.weekday() in rest_days_of(code, policy):
        return "rest_day"
    return None


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Quiet from `start` until `end`, across midnight when start > end; start == end: never."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_over(local: datetime, end: time) -> datetime:
    """The next moment (in UTC) the local clock shows `end` (or passes it, in a DST gap)."""
    wall = datetime.combine(local.date(), end)
    if wall <= local.replace(tzinfo=None):
        wall += timedelta(days=1)
    return first_instant(wall, local.tzinfo)  # type: ignore[arg-type]


def first_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The first moment (UTC) at which the local clock in `zone` shows `wall` (naive) or later:
    `wall` itself, its first occurrence when the clock is set back, the end of the gap when it
    falls into one (clocks set forward at midnight in Beirut, at 02:00 in Europe)."""
    at = wall.replace(tzinfo=zone).astimezone(UTC)
    if at.astimezone(zone).replace(tzinfo=None) == wall:
        return at
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # the gap's offset the other way round
    while at - before > timedelta(microseconds=1):  # bisect to the moment the clock jumps
        middle = before + (at - before) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            at = middle
        else:
            before = middle
    return at


def contact_block(
    country: str | None, now_utc: datetime, policy: ContactPolicy, last_contact_utc: datetime | None
) -> str | None:
    """Why no contact is allowed at `now_utc` (`holiday`, `rest_day`, `quiet_hours`,
    `contacted_recently`, the first that applies in that order), or None."""
    now_utc = _utc(now_utc)
    local = now_utc.astimezone(timezone_for(country, policy.default_timezone))
    day = day_blocked(country_code(country, policy.default_timezone), local.date(), policy)
    if day is not None:
        return day
    if in_quiet_hours(local.time(), policy.quiet_start, policy.quiet_end):
        return "quiet_hours"
    if last_contact_utc is not None and now_utc - last_contact_utc < policy.min_interval:
        return "contacted_recently"
    return None


def next_allowed_contact(
    country: str | None, now_utc: datetime, policy: ContactPolicy, last_contact_utc: datetime | None
) -> datetime:
    """The first moment from `now_utc` on (itself when allowed now) at which the customer may
    be contacted: past the minimum interval, outside quiet hours, on a day that is neither a
    rest day nor a holiday in their country. Naive times are read as UTC; the answer is UTC."""
    now_utc = _utc(now_utc)
    zone = timezone_for(country, policy.default_timezone)
    code = country_code(country, policy.default_timezone)
    at = now_utc if last_contact_utc is None else max(now_utc, _utc(last_contact_utc) + policy.min_interval)
    for _ in range(MAX_STEPS):
        local = at.astimezone(zone)
        if day_blocked(code, local.date(), policy) is not None:
            at = first_instant(datetime.combine(local.date() + timedelta(days=1), time(0)), zone)
        elif in_quiet_hours(local.time(), policy.quiet_start, policy.quiet_end):
            at = quiet_hours_over(local, policy.quiet_end)
        else:
            return at
    raise ValueError(f"no allowed contact time within a year for country {country!r}")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
