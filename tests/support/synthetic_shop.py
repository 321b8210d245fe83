"""Small synthetic purchase histories whose right answers are known, for the quality tests.

`taste_shop`: customers in three taste groups, each with staple items they rebuy on their own
rhythm plus occasional new items from their group, so a personal model must beat popularity on
both tasks. `herd_shop`: every customer buys the same things and, at the end, whatever the first
few bought last: recent popularity is already perfect there, so no model can beat it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-01-01")


def _frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    customers, items, days = zip(*rows)
    stamps = START + pd.to_timedelta(np.asarray(days, dtype=float), unit="D")
    return pd.DataFrame({"customer_id": customers, "item_id": items, "timestamp": stamps, "quantity": 1, "price": 2.5})


def taste_shop(n_customers: int = 90, n_items: int = 45, days: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = np.array_split(np.arange(n_items), 3)
    rows: list[tuple[str, str, float]] = []
    for c in range(n_customers):
        own = groups[c % 3]
        weights = np.linspace(2.0, 1.0, len(own))
        for item in rng.choice(own, 3, replace=False):  # staples, rebought every 8-20 days
            day, every = float(rng.uniform(0, 10)), float(rng.uniform(8, 20))
            while day < days:
                rows.append((f"c{c}", f"i{item}", day))
                day += every * float(rng.uniform(0.8, 1.2))
        for week in range(0, days, 7):  # now and then something new from their group
            if rng.random() < 0.6:
                item = int(rng.choice(own, p=weights / weights.sum()))
                rows.append((f"c{c}", f"i{item}", week + float(rng.uniform(0, 7))))
    return _frame(rows)


def herd_shop(n_customers: int = 30) -> pd.DataFrame:
    """Days 0-30: everyone buys items 0-19. Days 44-47: customers 0-4 buy items 20-24.
    Days 60-64: everyone else buys items 20-24, which recent popularity ranks first already."""
    rows = [(f"c{c}", f"i{i}", float((c + i) % 31)) for c in range(n_customers) for i in range(20)]
    rows += [(f"c{c}", f"i{i}", 44.0 + (c + i) % 4) for c in range(5) for i in range(20, 25)]
    rows += [(f"c{c}", f"i{i}", 60.0 + (c + i) % 5) for c in range(5, n_customers) for i in range(20, 25)]
    return _frame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    out = frame.copy()
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    out.to_csv(path, index=False)
    return path


def as_purchases(frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical cleaned columns the training code reads."""
    out = frame.copy()
    for col in ("title", "invoice", "country"):
        out[col] = None
    return out
