"""The moment a preview page shows things at (`?at=`): a marketer looks at next week's store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def parse_moment(text: str) -> datetime:
    """`2026-12-10` (the start of that day, UTC) or an ISO-8601 time (naive = UTC); ValueError
    for anything else."""
    text = text.strip()
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
