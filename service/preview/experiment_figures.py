"""The plot of an experiment's results page: each variant's conversion difference against the
control, day by day, inside its always-valid interval (the mSPRT's confidence sequence).

Drawn with matplotlib's Agg backend to a PNG embedded as a `data:` URI, which the pages'
Content-Security-Policy allows (`img-src 'self' data:`) and which needs no route of its own.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from service.http.experiment_schemas import TimelinePoint  # noqa: E402

COLOURS = ("#1f5fae", "#b3541e", "#2d7d46", "#7a3e9d")


def lift_plot(timeline: Sequence[TimelinePoint]) -> str | None:
    """A `data:image/png;base64,...` URI, or None before there is anything to plot."""
    if not timeline:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    try:
        variants = list(dict.fromkeys(p.variant for p in timeline))
        for colour, name in zip(COLOURS * 3, variants):
            points = [p for p in timeline if p.variant == name]
            days = mdates.date2num([date.fromisoformat(p.day) for p in points])
            ax.fill_between(days, [_pp(p.low) for p in points], [_pp(p.high) for p in points], color=colour, alpha=0.18)
            ax.plot(days, [_pp(p.difference) for p in points], color=colour, marker="o", label=f"{name} − control")
        ax.axhline(0, color="#444", linewidth=1)
        ax.set_ylabel("conversion difference (points)")
        ax.set_title("Lift and its always-valid 95% interval, by day")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.legend(loc="upper left", frameon=False)
        ax.grid(axis="y", color="#ddd")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _pp(value: float) -> float:
    """A difference of shares in percentage points, clipped so an unbounded first look shows."""
    return max(min(value * 100, 100.0), -100.0)
