"""Read purchase and catalog files into one canonical, typed DataFrame.

Everything downstream (cleaning, training) relies on the exact columns and
dtypes produced here, so all format quirks are absorbed in this module and
every bad input becomes an ``InputError`` naming the file, the column and the
first bad row -- a person fixing a 500k-row export needs that, not a traceback.

Row numbers in errors count like a human reading the file:
* CSV: the line number in the file, header = line 1, so data row i (0-based)
  is line i + 2; blank lines are skipped but still counted (a quoted field
  spanning several lines would shift the count);
* Parquet: the 1-based data row index (i + 1).

Headers match ignoring case, spaces and underscores ("Customer ID" ==
"CustomerID" == "customer_id").
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from models.rules.catalog import CURRENCY_PATTERN, EXTRAS, is_web_url
from training.errors import InputError

Format = Literal["canonical", "online-retail"]

PURCHASE_COLUMNS = ["customer_id", "item_id", "timestamp", "quantity", "price", "title", "invoice", "country"]
CATALOG_COLUMNS = ["item_id", "title", "price", "category", "available", "available_from"]

# canonical name -> (accepted headers, required). Headers are matched after
# _norm(), so "Customer ID" and "CustomerID" (Online Retail vs II) both fit.
_CANONICAL = {
    "customer_id": (["customer_id"], True),
    "item_id": (["item_id"], True),
    "timestamp": (["timestamp"], True),
    "quantity": (["quantity"], False),
    "price": (["price"], False),
    "title": (["title"], False),
    "invoice": (["invoice"], False),
    "country": (["country"], False),
}
_ONLINE_RETAIL = {
    "invoice": (["InvoiceNo", "Invoice"], True),
    "item_id": (["StockCode"], True),
    "title": (["Description"], False),
    "quantity": (["Quantity"], True),
    "timestamp": (["InvoiceDate"], True),
    "price": (["UnitPrice", "Price"], True),
    "customer_id": (["CustomerID", "Customer ID"], True),
    "country": (["Country"], False),
}
_CATALOG = {
    "item_id": (["item_id"], True),
    "title": (["title"], False),
    "price": (["price"], False),
    "category": (["category"], False),
    "available": (["available"], False),
    "available_from": (["available_from"], False),
    "image_url": (["image_url"], False),
    "url": (["url"], False),
    "currency": (["currency"], False),
}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_NUMERIC_RE = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_TS_MIN, _TS_MAX = pd.Timestamp.min.as_unit("us"), pd.Timestamp.max.as_unit("us")


@dataclass(frozen=True)
class _Source:
    """Where a frame came from, so errors can point at a file line or row."""

    file: str
    row_offset: int  # add to a frame index label (0-based data row) to get the reported row

    def fail(self, message: str, column: str | None = None, bad: pd.Series | None = None) -> InputError:
        """Build an error at the first True row of ``bad`` (if given)."""
        row = None if bad is None else int(bad.index[int(np.argmax(bad.to_numpy()))]) + self.row_offset
        return InputError(self.file, message, column=column, row=row)


def _norm(name: object) -> str:
    return re.sub(r"[\s_]+", "", str(name)).lower()


def file_kind(path: str | Path) -> str:
    """ "CSV" or "Parquet" for a readable, non-empty file of a known type; InputError otherwise
    (the checks every engine's reader makes before reading)."""
    file, p = str(path), Path(path)
    name = p.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        kind = "CSV"
    elif name.endswith((".parquet", ".pq")):
        kind = "Parquet"
    else:
        raise InputError(file, "unsupported file type; expected .csv, .csv.gz, .parquet or .pq")
    if not p.is_file():
        raise InputError(file, "file not found")
    if p.stat().st_size == 0:
        raise InputError(file, "file is empty")
    return kind


def _read_table(path: str | Path) -> tuple[pd.DataFrame, _Source]:
    """Read CSV (all columns as text, parsed later with row-level errors) or Parquet."""
    file, p = str(path), Path(path)
    kind = file_kind(p)
    try:
        if kind == "Parquet":
            df = pd.read_parquet(p)
        else:
            opener = gzip.open if p.name.lower().endswith(".gz") else open
            with opener(p, "rb") as fh:
                head = fh.read(8192)
            control = sum(head.count(bytes([b])) for b in [*range(9), *range(14, 32), 127])
            if b"\x00" in head or control > len(head) // 20:  # pandas would parse junk as odd columns
                raise ValueError("binary content, not text")
            # Blank lines are read then dropped so the index keeps matching file lines.
            opts: dict = {"dtype": str, "skipinitialspace": True, "skip_blank_lines": False}
            try:
                df = pd.read_csv(p, **opts)
            except UnicodeDecodeError:  # Excel exports of Online Retail are often cp1252/latin-1
                df = pd.read_csv(p, encoding="latin-1", **opts)
            df = df.dropna(how="all")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault here
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(file, f"cannot be read as {kind}: {detail}") from exc
    if len(df) == 0:
        raise InputError(file, "no data rows")
    if kind == "Parquet":
        return df.reset_index(drop=True), _Source(file, 1)
    return df, _Source(file, 2)


def _select(df: pd.DataFrame, src: _Source, spec: dict, fmt: str) -> dict[str, pd.Series]:
    """Pick the source column for each canonical name; fail on a missing required one."""
    by_norm: dict[str, str] = {}
    for col in df.columns:
        by_norm.setdefault(_norm(col), col)
    out: dict[str, pd.Series] = {}
    for canon, (aliases, required) in spec.items():
        found = next((by_norm[_norm(a)] for a in aliases if _norm(a) in by_norm), None)
        if found is not None:
            out[canon] = df[found]
        elif required:
            names = " or ".join(repr(a) for a in aliases)
            hint = ""
            if fmt == "canonical" and "stockcode" in by_norm:
                hint = "; this looks like an Online Retail file, use --format online-retail"
            found_cols = ", ".join(map(str, df.columns))
            raise InputError(
                src.file, f"missing required column {names}; columns found: {found_cols}{hint}", column=aliases[-1]
            )
    return out


def _text(s: pd.Series, is_id: bool = False) -> pd.Series:
    """Stripped text as object dtype with None for missing/empty.

    For ids, integral numbers lose '.0': Online Retail II stores Customer ID
    as float (13085.0) and CSV round-trips keep the '.0', yet ids must compare
    equal as "13085" everywhere.
    """
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        f = s.astype("float64")
        integral = f.notna() & np.isfinite(f) & (f == np.floor(f))
        out = f.astype(object).where(f.notna(), None)
        out[integral] = f[integral].astype("int64").astype(str).astype(object)
        out[~integral & f.notna()] = f[~integral & f.notna()].astype(str).astype(object)
        return out.astype(object)
    t = s.astype("str").str.strip()
    if is_id:
        dot_zero = t.str.fullmatch(r"\d+\.0+").fillna(False).astype(bool)
        if dot_zero.any():  # vectorised in Arrow; a regex backreference would loop in Python
            t[dot_zero] = t[dot_zero].str.split(".").str[0]
    t = t.where(t.notna() & (t != ""))
    return t.astype(object).where(t.notna(), None)


def _number(s: pd.Series, src: _Source, column: str) -> pd.Series:
    """float64; missing stays NaN, anything present but not a number is an error."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    t = s.astype("str").str.strip()
    num = pd.to_numeric(t.where(t.str.fullmatch(_NUMERIC_RE).fillna(False).astype(bool)), errors="coerce")
    bad = num.isna() & t.notna() & (t != "")
    if bad.any():
        raise src.fail(f"not a number: {t[bad].iloc[0]!r}", column, bad)
    return num.astype("float64")


def _timestamp(s: pd.Series, src: _Source, column: str, required: bool, us_dates: bool = False) -> pd.Series:
    """datetime64[ns], naive UTC. Accepts datetimes, epoch seconds, ISO-8601 text.

    ``us_dates`` also accepts "12/1/2010 8:26" (month first), the format of
    the original UCI Online Retail spreadsheet exports.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        ts = s if getattr(s.dt, "tz", None) is None else s.dt.tz_convert("UTC").dt.tz_localize(None)
        raw_present = s.notna()
    elif pd.api.types.is_numeric_dtype(s):
        ts = pd.to_datetime(s.astype("float64"), unit="s", errors="coerce")
        raw_present = s.notna()
    else:
        t = s.astype("str").str.strip()
        t = t.where(t != "")
        raw_present = t.notna()
        is_num = t.str.fullmatch(_NUMERIC_RE).fillna(False).astype(bool)
        ts = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
        if is_num.any():
            epoch = pd.to_datetime(pd.to_numeric(t[is_num]), unit="s", errors="coerce")
            ts[is_num] = epoch.astype("datetime64[us]")
        text = raw_present & ~is_num
        if text.any():
            iso = pd.to_datetime(t[text], errors="coerce", utc=True, format="ISO8601").dt.tz_localize(None)
            ts[text] = iso.astype("datetime64[us]")
            retry = text & ts.isna()
            if us_dates and retry.any():
                us = pd.to_datetime(t[retry], errors="coerce", format="%m/%d/%Y %H:%M")
                ts[retry] = us.astype("datetime64[us]")
        s = t
    ts = ts.astype("datetime64[us]")
    bad = raw_present & (ts.isna() | (ts < _TS_MIN) | (ts > _TS_MAX))
    if bad.any():
        raise src.fail(f"cannot parse {s[bad].iloc[0]!r} as a timestamp (ISO-8601 or epoch seconds)", column, bad)
    if required and not raw_present.all():
        raise src.fail("empty timestamp", column, ~raw_present)
    return ts.astype("datetime64[ns]")


def _item_ids(s: pd.Series, src: _Source, column: str) -> pd.Series:
    ids = _text(s, is_id=True)
    if ids.isna().any():
        raise src.fail("empty item id", column, ids.isna())
    return ids


@dataclass(frozen=True)
class LoadedPurchases:
    """The loaded frame and, per frame row, the row number a person finds it at in the file
    (see the module docstring), so cleaning can point at the rows it removed."""

    frame: pd.DataFrame
    rows: np.ndarray
    headers: dict[str, str]  # canonical column -> the file's header for it


def load_purchases(path: str | Path, fmt: Format = "canonical") -> pd.DataFrame:
    """Load a purchase log as columns PURCHASE_COLUMNS (see module docstring for rows)."""
    return read_purchases(path, fmt).frame


def read_purchases(path: str | Path, fmt: Format = "canonical") -> LoadedPurchases:
    """`load_purchases` with each row's file row number.

    Empty customer ids are kept as None on purpose: dropping them is a
    counted cleaning step, not a load error.
    """
    if fmt not in ("canonical", "online-retail"):
        raise ValueError(f"unknown format {fmt!r}")
    df, src = _read_table(path)
    spec = _CANONICAL if fmt == "canonical" else _ONLINE_RETAIL
    cols = _select(df, src, spec, fmt)
    name = {canon: str(s.name) for canon, s in cols.items()}  # report errors with the file's header
    n = len(df)
    out = pd.DataFrame(index=df.index)
    out["customer_id"] = _text(cols["customer_id"], is_id=True)
    out["item_id"] = _item_ids(cols["item_id"], src, name["item_id"])
    out["timestamp"] = _timestamp(cols["timestamp"], src, name["timestamp"], True, fmt == "online-retail")
    qty = _number(cols["quantity"], src, name["quantity"]) if "quantity" in cols else pd.Series(1.0, index=df.index)
    out["quantity"] = qty.fillna(1.0)  # quantity is optional: an empty cell means one unit
    out["price"] = _number(cols["price"], src, name["price"]) if "price" in cols else np.full(n, np.nan)
    for extra in ("title", "invoice", "country"):
        out[extra] = _text(cols[extra]) if extra in cols else pd.Series([None] * n, index=df.index, dtype=object)
    rows = out.index.to_numpy(dtype=np.int64) + src.row_offset
    return LoadedPurchases(out[PURCHASE_COLUMNS].reset_index(drop=True), rows, name)


def _bools(s: pd.Series, src: _Source, column: str) -> pd.Series:
    """true/false/1/0/yes/no (any case); empty means available."""
    if pd.api.types.is_bool_dtype(s):
        return s.fillna(True).astype(bool)
    t = _text(s).str.lower()
    bad = t.notna() & ~t.isin(_TRUE | _FALSE)
    if bad.any():
        raise src.fail(f"not a boolean: {t[bad].iloc[0]!r} (use true/false, 1/0, yes/no)", column, bad)
    return (t.isna() | t.isin(_TRUE)).astype(bool)


def load_catalog(path: str | Path) -> pd.DataFrame:
    """Load an optional item catalog as columns CATALOG_COLUMNS, one row per item."""
    df, src = _read_table(path)
    cols = _select(df, src, _CATALOG, "catalog")
    name = {canon: str(s.name) for canon, s in cols.items()}
    n = len(df)
    out = pd.DataFrame(index=df.index)
    out["item_id"] = _item_ids(cols["item_id"], src, name["item_id"])
    dup = out["item_id"].duplicated()
    if dup.any():
        raise src.fail(f"duplicate item id {out['item_id'][dup].iloc[0]!r}", name["item_id"], dup)
    none = pd.Series([None] * n, index=df.index, dtype=object)
    out["title"] = _text(cols["title"]) if "title" in cols else none
    out["price"] = _number(cols["price"], src, name["price"]) if "price" in cols else np.full(n, np.nan)
    out["category"] = _text(cols["category"]) if "category" in cols else none.copy()
    out["available"] = _bools(cols["available"], src, name["available"]) if "available" in cols else True
    out["available_from"] = (
        _timestamp(cols["available_from"], src, name["available_from"], False)
        if "available_from" in cols
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    )
    for column in (c for c in EXTRAS if c in cols):  # only when given: a catalog without them is unchanged
        out[column] = _extra(cols[column], src, name[column], column)
    return out[CATALOG_COLUMNS + [c for c in EXTRAS if c in cols]].reset_index(drop=True)


def _extra(s: pd.Series, src: _Source, column: str, canon: str) -> pd.Series:
    """A presentation column: URLs must be absolute http(s) URLs, currencies ISO 4217 codes."""
    t = _text(s)
    if canon == "currency":
        t = t.where(t.isna(), t.str.upper())
        bad = t.notna() & ~t.map(lambda v: v is None or CURRENCY_PATTERN.fullmatch(v) is not None)
        if bad.any():
            raise src.fail(f"not a currency code: {t[bad].iloc[0]!r} (use ISO 4217, e.g. GBP, EUR)", column, bad)
        return t
    bad = t.notna() & ~t.map(lambda v: v is None or is_web_url(v))
    if bad.any():
        raise src.fail(f"not an http(s) URL: {t[bad].iloc[0]!r}", column, bad)
    return t
