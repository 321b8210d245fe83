"""Names and descriptions of segments, written from the data so marketers need not guess.

A name says who they are in three parts: the usual loyalty tier, where they are, and the
product that sets them apart (highest lift among things a good share of them buy), e.g.
"Loyal · United Kingdom · Regency Cakestand 3 Tier". The description adds the numbers: size,
countries, typical recency/frequency/spend and basket, top and distinctive products, categories.
Data without prices has no spend to describe: its segments leave spend and order value out
rather than print "0 spent".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.rules.loyalty import TIERS
from models.rules.wording import ago, product_title

TIER_LABELS = {"new": "New", "regular": "Regular", "loyal": "Loyal", "vip": "VIP", "at_risk": "At-risk"}
SAMPLE_CUSTOMERS = 20
TOP = 5


@dataclass(frozen=True)
class ItemInfo:
    ids: np.ndarray
    titles: np.ndarray
    categories: np.ndarray  # None where unknown


def describe_segments(
    labels: np.ndarray,
    profiles: pd.DataFrame,
    tiers: np.ndarray,
    buyers: np.ndarray,
    items: ItemInfo,
    customer_ids: np.ndarray,
    priced: bool = True,
) -> list[dict[str, Any]]:
    """One JSON-ready dict per segment id (0..n-1); `priced` False: the data had no prices."""
    overall = buyers.sum(axis=0) / max(len(labels), 1)
    out = [
        _describe(s, labels == s, profiles, tiers, buyers[s], overall, items, customer_ids, priced)
        for s in range(buyers.shape[0])
    ]
    _make_names_unique(out)
    return out


def _describe(
    s: int,
    members: np.ndarray,
    profiles: pd.DataFrame,
    tiers: np.ndarray,
    buyers: np.ndarray,
    overall: np.ndarray,
    items: ItemInfo,
    customer_ids: np.ndarray,
    priced: bool,
) -> dict[str, Any]:
    size = int(members.sum())
    share = buyers / max(size, 1)
    mine = profiles[members]
    countries = _shares(mine["country"].tolist(), size)
    loyalty = _shares([TIERS[t] for t in tiers[members]], size)
    top = [_item(items, i, share[i]) for i in np.argsort(-share, kind="stable")[:TOP] if share[i] > 0]
    distinctive = _distinctive(share, buyers, overall, items)
    stats = {
        "median_recency_days": _median(mine["recency_days"]),
        "median_orders": _median(mine["orders"]),
        "median_items_per_order": _median(mine["items_per_order"]),
    }
    if priced:
        stats.update(median_spend=_median(mine["spend"]), median_order_value=_median(mine["order_value"]))
    seg = {
        "id": s,
        "size": size,
        "countries": countries,
        "loyalty": loyalty,
        "stats": stats,
        "top_products": top,
        "distinctive_products": distinctive,
        "top_categories": _categories(buyers, items),
        "sample_customers": [str(c) for c in customer_ids[members][:SAMPLE_CUSTOMERS]],
    }
    seg["name"] = _name(seg)
    seg["description"] = _description(seg)
    return seg


def _item(items: ItemInfo, row: int, share: float, lift: float | None = None) -> dict[str, Any]:
    out = {"item_id": str(items.ids[row]), "title": str(items.titles[row]), "share": round(float(share), 4)}
    if lift is not None:
        out["lift"] = round(float(lift), 2)
    return out


def _distinctive(share: np.ndarray, buyers: np.ndarray, overall: np.ndarray, items: ItemInfo) -> list[dict[str, Any]]:
    """Items a good share (>= 10%, >= 3 buyers) of the segment buys, by lift."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(overall > 0, share / overall, 0.0)
    ok = np.flatnonzero((share >= 0.10) & (buyers >= 3))
    best = ok[np.argsort(-lift[ok], kind="stable")][:3]
    return [_item(items, i, share[i], lift[i]) for i in best]


def _categories(buyers: np.ndarray, items: ItemInfo) -> list[dict[str, Any]]:
    """Share of the segment's purchases per catalog category (empty without categories)."""
    known = pd.Series(items.categories).notna().to_numpy()
    if not known.any() or buyers[known].sum() == 0:
        return []
    per = pd.Series(buyers[known], index=items.categories[known]).groupby(level=0).sum()
    per = (per / per.sum()).sort_values(ascending=False).head(3)
    return [{"category": str(c), "share": round(float(v), 4)} for c, v in per.items()]


def _shares(values: list[str], size: int) -> list[dict[str, Any]]:
    return [{"name": k, "share": round(n / max(size, 1), 4)} for k, n in Counter(values).most_common(3)]


def _median(s: pd.Series) -> float:
    return round(float(s.median()), 2) if len(s) else 0.0


def _name(seg: dict[str, Any]) -> str:
    tier = TIER_LABELS.get(seg["loyalty"][0]["name"], "Mixed") if seg["loyalty"] else "Mixed"
    country: dict[str, Any] = seg["countries"][0] if seg["countries"] else {"name": "unknown", "share": 0.0}
    where = country["name"] if country["share"] >= 0.6 and country["name"] != "unknown" else "International"
    theme_items = seg["distinctive_products"] or seg["top_products"]
    theme = _short(theme_items[0]["title"]) if theme_items else "mixed baskets"
    return f"{tier} · {where} · {theme}"


def _short(title: str, words: int = 4) -> str:
    return product_title(" ".join(title.split()[:words]))


def _description(seg: dict[str, Any]) -> str:
    st = seg["stats"]
    countries = ", ".join(f"{c['name']} {c['share']:.0%}" for c in seg["countries"])
    tiers = ", ".join(f"{TIER_LABELS.get(t['name'], t['name']).lower()} {t['share']:.0%}" for t in seg["loyalty"])
    basket = f"a basket of {st['median_items_per_order']:.0f} items"
    if "median_spend" in st:
        basket = f"{st['median_spend']:,.0f} spent; {basket} worth {st['median_order_value']:,.0f}"
    parts = [
        f"{seg['size']} customers ({countries}); tiers: {tiers}.",
        f"Typical customer: {_orders(st['median_orders'])}, the last {ago(st['median_recency_days'])}, {basket}.",
    ]
    if seg["top_products"]:
        parts.append(
            "Top products: "
            + ", ".join(f"{_short(p['title'])} ({p['share']:.0%})" for p in seg["top_products"][:3])
            + "."
        )
    if seg["distinctive_products"]:
        parts.append(
            "Stands out for: "
            + ", ".join(f"{_short(p['title'])} ({p['lift']:.1f}x)" for p in seg["distinctive_products"])
            + "."
        )
    if seg["top_categories"]:
        parts.append(
            "Categories: " + ", ".join(f"{c['category']} ({c['share']:.0%})" for c in seg["top_categories"]) + "."
        )
    return " ".join(parts)


def _orders(n: float) -> str:
    return "1 order" if round(n) == 1 else f"{n:.0f} orders"


def _make_names_unique(segments: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for seg in segments:
        seen[seg["name"]] += 1
        if seen[seg["name"]] > 1:
            seg["name"] = f"{seg['name']} #{seg['id']}"
