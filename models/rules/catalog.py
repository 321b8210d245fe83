"""Catalog entries as the service sees them, and the rule that keeps promises deliverable.

Optional presentation columns (`EXTRAS`: `image_url`, `url`, `currency`) travel with an item
wherever the API shows its details, and only when the catalog has them: a shop without them
gets exactly the answers it always got."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

EXTRAS = ("image_url", "url", "currency")
URL_COLUMNS = ("image_url", "url")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")  # ISO 4217 code, e.g. GBP, EUR
_WEB_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def is_web_url(text: str) -> bool:
    """An absolute http(s) URL with a host and no spaces: what a browser or e-mail can load."""
    return _WEB_URL.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class CatalogItem:
    item_id: str
    title: str
    price: float | None = None
    category: str | None = None
    available: bool = True
    available_from: date | None = None
    image_url: str | None = None
    url: str | None = None
    currency: str | None = None  # ISO 4217 code of `price`

    def extras(self) -> dict[str, str]:
        """The presentation columns this item has, in `EXTRAS` order (none: {})."""
        values = (self.image_url, self.url, self.currency)
        return {name: value for name, value in zip(EXTRAS, values, strict=True) if value is not None}

    def offerable(self, today: date) -> bool:
        """Never promise what cannot be delivered: unavailable or not-yet-available items."""
        return self.available and (self.available_from is None or self.available_from <= today)

    def to_json(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "title": self.title,
            "price": self.price,
            "category": self.category,
            "available": self.available,
            "available_from": self.available_from.isoformat() if self.available_from else None,
            **self.extras(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CatalogItem:
        af = d.get("available_from")
        return cls(
            item_id=d["item_id"],
            title=d.get("title") or d["item_id"],
            price=d.get("price"),
            category=d.get("category"),
            available=bool(d.get("available", True)),
            available_from=date.fromisoformat(af) if af else None,
            image_url=d.get("image_url"),
            url=d.get("url"),
            currency=d.get("currency"),
        )


Catalog = dict[str, CatalogItem]


def catalog_from_frame(frame: pd.DataFrame) -> Catalog:
    """One `CatalogItem` per row of an artifact's catalog table."""
    out: Catalog = {}
    for row in frame.to_dict("records"):
        item_id = str(row["item_id"])
        out[item_id] = CatalogItem(
            item_id=item_id,
            title=_text(row.get("title")) or item_id,
            price=_number(row.get("price")),
            category=_text(row.get("category")),
            available=_flag(row.get("available"), default=True),
            available_from=_day(row.get("available_from")),
            image_url=_text(row.get("image_url")),
            url=_text(row.get("url")),
            currency=_text(row.get("currency")),
        )
    return out


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT


def _text(v: object) -> str | None:
    return None if _missing(v) else str(v)


def _number(v: object) -> float | None:
    return None if _missing(v) else round(float(v), 2)  # type: ignore[arg-type]


def _flag(v: object, default: bool) -> bool:
    return default if _missing(v) else bool(v)


def _day(v: object) -> date | None:
    if _missing(v) or pd.isna(v):  # type: ignore[arg-type]
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return pd.Timestamp(v).date()  # type: ignore[arg-type]
