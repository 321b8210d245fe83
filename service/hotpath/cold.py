"""A `/recommend` answer without live state, from the pre-rendered `a:` document.

`models.contract.answer_fragments` keeps per customer what the route computes from their `c:`
list for `include_purchased=false`: the pool's item rows and scaled scores (read lazily, only
as far as the answer needs). What is left per
request is what the route does last: the catalog rules of the day, the first `k` items they
allow, and the answer's JSON. Here each item's JSON around its score is rendered once per
version (`item_pieces` of the route's own `item_fields`) and each row's "allowed today" decided
once per UTC day, so the answer is the frame of `answer_fields` (made by the route's function,
with no items) around a join of byte strings.

Only for a customer whose overlay view is empty (nothing live: no event, cap, hidden item or
purchase since training) and no business rule (the hot path hands those to the routes): then
`choose` reduces to exactly this. Anything else is computed in full from the `c:` list.
"""

from __future__ import annotations

from datetime import date

import orjson

from models.contract.answer_fragments import SCORE_SLOT, answer_entries, item_pieces
from models.rules.catalog import Catalog
from models.rules.ranking import ScoreScale
from service.core import recommend as recommendations
from service.core.experiments import Assignment
from service.core.filters import ItemFilter

_ITEMS_SLOT = b'"items":[]'  # where the frame's empty list is cut (quotes in strings are escaped)


class AnswerItems:
    """One version's items as cold answers show them: ids by row, each item's JSON pieces (made
    on first use), and per UTC day whether the catalog allows each row (decided on first use that
    day: a row's availability only changes with the date)."""

    def __init__(self, version: str, item_ids: list[str], catalog: Catalog) -> None:
        self.version, self.item_ids, self.catalog = version, item_ids, catalog
        self._pieces: dict[int, tuple[bytes, bytes]] = {}
        self._day: date | None = None
        self._rules = ItemFilter.of(catalog)
        self._allowed: dict[int, bool] = {}

    @property
    def rules(self) -> ItemFilter:
        """The catalog rules of the day last answered for."""
        return self._rules

    def choose(self, answer: bytes, k: int, day: date) -> tuple[list[int], list[bytes]]:
        """The first `k` rows of the pool the day's catalog rules allow, and their items' JSON."""
        if day != self._day:
            self._day, self._allowed = day, {}
            self._rules = ItemFilter.of(self.catalog, day=day)
        allowed, rules = self._allowed, self._rules
        rows: list[int] = []
        items: list[bytes] = []
        dumps = orjson.dumps  # the route's encoder: the same float, the same text
        for row, score in answer_entries(answer):
            ok = allowed.get(row)
            if ok is None:
                ok = allowed[row] = 0 <= row < len(self.item_ids) and rules.allows(self.item_ids[row])
            if ok:
                head, tail = self._pieces.get(row) or self._render(row)
                items.append(head + dumps(score) + tail)
                rows.append(row)
                if len(rows) == k:
                    break
        return rows, items

    def _render(self, row: int) -> tuple[bytes, bytes]:
        reason = recommendations.REASON_LIKE_YOU  # the pool is unbought and personal
        pieces = self._pieces[row] = item_pieces(
            recommendations.item_fields(self._rules, self.item_ids[row], SCORE_SLOT, reason)
        )
        return pieces


def cold_answer(
    items: AnswerItems, answer: bytes, customer_id: str, k: int, chosen: Assignment, day: date
) -> tuple[bytes, tuple[str, ...], str]:
    """The answer's body, the item ids it shows, and its recommendation id."""
    rows, rendered = items.choose(answer, k, day)
    choice = recommendations.Choice("personal", [], items.rules, ScoreScale(0.0, 0.0))
    fields = recommendations.answer_fields(items.version, customer_id, choice, False, {}, chosen)
    head, _, tail = orjson.dumps(fields).partition(_ITEMS_SLOT)
    body = b"".join((head, b'"items":[', b",".join(rendered), b"]", tail))
    ids = items.item_ids
    return body, tuple(ids[r] for r in rows), fields["recommendation_id"]
