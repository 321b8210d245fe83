"""Figures the marketers' preview shows beside the offers: the model's evaluation (whatever
`metrics.json` holds), how fresh its data is, and feedback per segment once events exist.

The evaluation schema belongs to the training job and may grow, so it is rendered generically:
every `{row: {column: value}}` table found in it becomes one table on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from service.core import feedback
from service.live.state import LiveState
from service.storage.stores import StoreUnavailableError

# Where the training job's validation report keeps its tables (`training.evaluation.protocol` schema); a
# metrics dict without these keys is searched whole.
PREFERRED_SECTIONS = ("summary", "metrics")
FRESH_DAYS = 2  # a model trained daily is at most a day or two behind

Scalar = float | int | str | bool | None


@dataclass(frozen=True)
class FigureTable:
    title: str  # where the table sits in the metrics, e.g. "metrics / discovery"
    columns: list[str]
    rows: list[tuple[str, list[Scalar], str]]  # (row name, one value per column, "baseline" or "")


def evaluation_tables(metrics: Mapping[str, Any]) -> list[FigureTable]:
    """Every table of figures in the artifact's metrics, in file order; [] = not evaluated."""
    kinds = metrics.get("kinds") if isinstance(metrics.get("kinds"), dict) else {}
    sections = [k for k in PREFERRED_SECTIONS if isinstance(metrics.get(k), dict)]
    tables: list[FigureTable] = []
    if sections:
        for key in sections:
            _collect(metrics[key], [key], tables, kinds)  # type: ignore[arg-type]
    else:
        _collect(metrics, [], tables, kinds)  # type: ignore[arg-type]
    return tables


def _collect(node: Mapping[str, Any], path: list[str], out: list[FigureTable], kinds: Mapping[str, str]) -> None:
    if node and all(isinstance(v, dict) and v and all(_is_scalar(x) for x in v.values()) for v in node.values()):
        columns = list(dict.fromkeys(c for row in node.values() for c in row))
        rows = [(str(name), [row.get(c) for c in columns], str(kinds.get(name, ""))) for name, row in node.items()]
        out.append(FigureTable(" / ".join(path) or "evaluation", columns, rows))
        return
    title = " / ".join(path) or "evaluation"
    scalars = {k: v for k, v in node.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    if scalars:
        out.append(FigureTable(title, list(scalars), [("value", list(scalars.values()), "")]))
    for key, child in node.items():
        if isinstance(child, dict):
            _collect(child, [*path, str(key)], out, kinds)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


@dataclass(frozen=True)
class Freshness:
    """How old the newest purchase the model learned from is; marketers should know when offers
    rest on old data before a campaign goes out."""

    data_start: date | None
    data_end: date | None
    trained_at: datetime | None
    age_days: int | None  # today - data_end

    @property
    def fresh(self) -> bool:
        return self.age_days is not None and self.age_days <= FRESH_DAYS


def freshness(manifest: Mapping[str, Any], today: date | None = None) -> Freshness:
    start, end = _date(manifest.get("data_start")), _date(manifest.get("data_end"))
    trained = pd.Timestamp(manifest["created_at"]).to_pydatetime() if manifest.get("created_at") else None
    today = today or datetime.now(UTC).date()
    return Freshness(start, end, trained, (today - end).days if end else None)


def _date(value: object) -> date | None:
    return pd.Timestamp(value).date() if value else None  # type: ignore[arg-type]


@dataclass(frozen=True)
class SegmentFeedback:
    """What customers of a segment did with what they were shown (all-time counts)."""

    impressions: int
    clicks: int
    purchases: int
    returns: int

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion(self) -> float | None:
        return self.purchases / self.impressions if self.impressions else None

    @property
    def return_rate(self) -> float | None:
        return self.returns / self.purchases if self.purchases else None


async def feedback_by_segment(live: LiveState) -> Mapping[int, SegmentFeedback] | None:
    """Feedback figures per segment id from the live event counters (POST /events and what the
    service showed), or None when there are none yet (the page then says "no feedback yet")."""
    try:
        summary = await feedback.summarize(live)
    except StoreUnavailableError:
        return None
    figures = {
        int(label): SegmentFeedback(r.impressions, r.clicks, r.purchases, r.returns)
        for label, r in summary.by_segment.items()
        if label.isdigit()
    }
    return figures or None
