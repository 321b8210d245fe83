"""How fast the contact policy's calendar answers "when may we contact this customer next?".

A campaign shows, for every customer of a segment, when the message would reach them; that is
one `models.rules.contact.next_allowed_contact` per customer. This times it for customers spread
over the shop's countries at random moments of a year (a third contacted within the last days),
once with the holiday tables cold (the first call per country and year builds them) and once warm.

    python -m benchmarks.contact_calendar [--customers 100000] [--seed 0]

Prints microseconds per call (numbers recorded in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, time, timedelta
from time import perf_counter

from models.rules import contact
from models.rules.contact import COUNTRY_TIMEZONES, ContactPolicy, next_allowed_contact

POLICY = ContactPolicy(time(21, 0), time(9, 0), timedelta(days=3), "Europe/London")


def cases(n: int, seed: int) -> list[tuple[str | None, datetime, datetime | None]]:
    rng = random.Random(seed)
    countries: list[str | None] = [*COUNTRY_TIMEZONES, None]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        now = start + timedelta(seconds=rng.randrange(366 * 86_400))
        last = now - timedelta(seconds=rng.randrange(5 * 86_400)) if rng.random() < 1 / 3 else None
        out.append((rng.choice(countries), now, last))
    return out


def timed(todo: list[tuple[str | None, datetime, datetime | None]]) -> float:
    began = perf_counter()
    for country, now, last in todo:
        next_allowed_contact(country, now, POLICY, last)
    return (perf_counter() - began) / len(todo) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    todo = cases(args.customers, args.seed)
    contact._holidays.cache_clear()
    cold = timed(todo[:1000])
    warm = timed(todo)
    print("| customers | cold (first 1,000) us/call | warm us/call | calls/s warm |")
    print("|---|---|---|---|")
    print(f"| {len(todo):,} | {cold:.1f} | {warm:.1f} | {1e6 / warm:,.0f} |")


if __name__ == "__main__":
    main()
