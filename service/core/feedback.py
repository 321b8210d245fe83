"""Click-through and conversion by source, section and segment, from the all-time counters.

Every event is attributed when it is recorded: to the section and source that last showed the
item to that customer (or the section the client named), and to the customer's segment. Rates
are per impression: click-through = clicks / impressions, conversion = purchases / impressions.
"""

from __future__ import annotations

from collections import defaultdict

from service.http.schemas import FeedbackRates, FeedbackSummary, ItemFeedback
from service.live.state import LiveState, parse_feedback_field

_FIELDS = {
    "impression": "impressions",
    "click": "clicks",
    "add_to_cart": "add_to_carts",
    "purchase": "purchases",
    "dismiss": "dismissals",
    "return": "returns",
    "complaint": "complaints",
}


def rates(counts: dict[str, int]) -> FeedbackRates:
    """Counts by event type -> the summary row, rates None where nothing was shown."""
    row = FeedbackRates(**{_FIELDS[k]: v for k, v in counts.items() if k in _FIELDS})
    if row.impressions:
        row.click_through_rate = round(row.clicks / row.impressions, 6)
        row.conversion_rate = round(row.purchases / row.impressions, 6)
    return row


async def summarize(state: LiveState, top_items: int = 20) -> FeedbackSummary:
    total: dict[str, int] = defaultdict(int)
    groups: dict[str, dict[str, dict[str, int]]] = {"source": {}, "section": {}, "segment": {}}
    for name, n in (await state.feedback_counts()).items():
        kind, source, section, segment = parse_feedback_field(name)
        total[kind] += n
        for group, key in (("source", source), ("section", section), ("segment", segment)):
            cell = groups[group].setdefault(key, defaultdict(int))
            cell[kind] += n
    items = await state.item_feedback()
    complained = set(items["complaint"]) | set(items["return"])
    worst = sorted(complained, key=lambda i: (-items["complaint"].get(i, 0), -items["return"].get(i, 0), i))
    return FeedbackSummary(
        total=rates(total),
        by_source={k: rates(v) for k, v in sorted(groups["source"].items())},
        by_section={k: rates(v) for k, v in sorted(groups["section"].items())},
        by_segment={k: rates(v) for k, v in sorted(groups["segment"].items())},
        most_complained=[
            ItemFeedback(item_id=i, returns=items["return"].get(i, 0), complaints=items["complaint"].get(i, 0))
            for i in worst[:top_items]
        ],
    )
