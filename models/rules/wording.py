"""Durations as people say them, for the one-line reasons shown to customers and marketers.

"Every ~3 weeks", "4 months ago": rounded to the unit a person would use, so a reason reads like
a shop assistant talking, not like a log line.
"""

from __future__ import annotations

import re
from datetime import date

from models.rules.replenishment import rhythm_holds


def duration(days: float) -> str:
    """12.4 -> "12 days", 30 -> "4 weeks", 200 -> "7 months", 800 -> "2 years"."""
    days = max(float(days), 0.0)
    if days < 1.5:
        return "1 day" if days >= 0.5 else "less than a day"
    if days < 14:
        return _plural(round(days), "day")
    if days < 60:
        return _plural(round(days / 7), "week")
    if days < 700:
        return _plural(round(days / 30.44), "month")
    return _plural(round(days / 365.25), "year")


def ago(days: float) -> str:
    return "today" if days < 0.5 else f"{duration(days)} ago"


def every(days: float) -> str:
    """The rhythm of a repeat purchase: "every ~3 weeks" ("every day" when daily)."""
    if days < 1.5:
        return "every day"
    return f"every ~{duration(days)}"


_SUB_WORD = re.compile(r"[^\s\-/,+&().\"]+")  # words and the parts of "T-LIGHT", "SET/3", "CARD,PACK"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # not the locale's


def plan_text(interval_days: float, next_on: date) -> str:
    """A replenishment plan in one line: "every ~3 weeks, next on 12 Dec"."""
    return f"{every(interval_days)}, next on {next_on.day} {MONTHS[next_on.month - 1]}"


def product_title(text: str) -> str:
    """A catalog title in title case for names and lists: "POPPY'S PLAYHOUSE" -> "Poppy's
    Playhouse", "WHITE HANGING HEART T-LIGHT HOLDER" -> "White Hanging Heart T-Light Holder".

    Only shouting titles change (no lower-case letter outside sizes and codes like "500g");
    a title in the shop's own spelling ("iPhone Case", "Dad's Cab") is kept as written. In a
    shouting title, letters after an apostrophe stay small ("Children's", "Rock 'n' Roll",
    "50's", which `str.title()` and `string.capwords` get wrong), and parts with a digit
    ("3D", "60CM", "A6") keep their case, since case there is part of the code or the unit."""
    if not any(c.islower() for w in _SUB_WORD.findall(text) if not _has_digit(w) for c in w):
        return _SUB_WORD.sub(lambda m: _capitalised(m.group()), text)
    return text


def _capitalised(word: str) -> str:
    cut = next((i for i, c in enumerate(word) if c in "'’"), len(word))
    head, tail = word[:cut], word[cut:]
    if not _has_digit(head):
        first = next((i for i, c in enumerate(head) if c.isalpha()), len(head))
        head = head[:first] + head[first : first + 1].upper() + head[first + 1 :].lower()
    return head + tail.lower()


def _has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def repeat_purchase_reason(occasions: int, interval_days: float, days_since: float) -> str:
    """Why an item the customer bought before is shown again (the store's buy-again section and
    `/recommend`): their rhythm when `rhythm_holds`, else the plain facts ("you bought this
    twice, last time 11 months ago")."""
    if rhythm_holds(occasions, interval_days, days_since):
        return f"you usually reorder this {every(interval_days)}; last time {ago(days_since)}"
    return f"you bought this {times(occasions)}, last time {ago(days_since)}"


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def offer_figures(lift: float, segment_share: float, overall_share: float) -> tuple[float, float, float]:
    """A segment offer's figures as every surface shows them (the API's and the CSV's `lift`,
    `segment_share` and `overall_share`, and the numbers in its reason). Rounding again is a
    no-op, so figures read back from a published document give the same result as the raw
    training output: the API and the export cannot drift apart by rounding twice."""
    return round(float(lift), 3), round(float(segment_share), 4), round(float(overall_share), 4)


def segment_offer_reason(lift: float, segment_share: float, overall_share: float) -> str:
    """Why a segment gets an offer, in the marketer's terms: the one text of the API, the CSV
    export and the preview, made from `offer_figures` whatever precision the caller holds."""
    lift, segment_share, overall_share = offer_figures(lift, segment_share, overall_share)
    return (
        f"bought by {segment_share:.0%} of this segment vs {overall_share:.1%} of all customers "
        f"({lift:.1f}x); {1 - segment_share:.0%} of the segment has not bought it yet"
    )


FEATURED_REASON = "featured by the shop"  # an item a business rule pinned into a list the model did not put it in
