"""What cleaning did, in words a shop owner can check: the summary `train` and `evaluate` always
print last on stderr, and the error when the rules leave no purchase at all.

The rules and their names live in `training.data.clean` (`RULES`); this module only reads
`CleanResult.counts` and `CleanResult.examples`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.clean import CleanResult, Rule, rules_for
from training.data.load import LoadedPurchases


def summary_lines(result: CleanResult) -> list[str]:
    """One line per rule that applied to the file's format, between the rows in and the rows kept."""
    c = result.counts
    lines = [f"cleaning ({result.fmt} rules): {c['rows_in']:,} rows in"]
    for rule in rules_for(result.fmt):
        lines.append(f"  {rule.verb} {c[rule.key]:,}: {rule.words}")
    lines.append(f"  kept {c['purchases_out']:,} purchases by {c['customers']:,} customers of {c['items']:,} items")
    return lines


def nothing_left(result: CleanResult, raw: pd.DataFrame, loaded: LoadedPurchases) -> str:
    """Why no purchase is left: each rule that took rows out, with a few of them as the file
    has them (its row numbers and headers).

    `raw` is the frame that was cleaned: the rows of `loaded`, then any folded-in events.
    """
    parts = [f"no purchases left after cleaning: {result.counts['rows_in']:,} rows in"]
    for rule in rules_for(result.fmt):
        count = result.counts[rule.key]
        if count:
            shown = ", ".join(_example(rule, raw, loaded, p) for p in result.examples.get(rule.key, ()))
            parts.append(f"{rule.words!r} {rule.verb} {count:,}" + (f", e.g. {shown}" if shown else ""))
    return "; ".join(parts)


def _example(rule: Rule, raw: pd.DataFrame, loaded: LoadedPurchases, position: int) -> str:
    row = raw.iloc[position]
    where = (
        f"row {int(loaded.rows[position])}"
        if position < len(loaded.rows)
        else f"event {str(row['invoice']).removeprefix('event:')}"
    )
    return " ".join([where, *(f"{loaded.headers.get(col, col)}={_show(row[col])}" for col in rule.columns)])


def _show(value: object) -> str:
    if isinstance(value, float):
        return "None" if np.isnan(value) else f"{value:g}"
    return repr(value)
