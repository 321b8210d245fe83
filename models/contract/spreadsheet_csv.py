"""The one CSV dialect of every CSV the project writes (preview downloads, `microoffers export`,
campaign audiences and offers), chosen so the file opens cleanly in spreadsheet programs:

- UTF-8 with a byte-order mark: Excel reads a BOM-less file in the machine's legacy code page
  and garbles "Café"; LibreOffice, Numbers, Google Sheets and Python's `utf-8-sig` read it too.
- CRLF line ends and minimal quoting (RFC 4180, Python's `csv` module does the quoting).
- No formula injection: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
  return would run as a formula in a spreadsheet (a product title "=HYPERLINK(...)" becomes a
  link); such a cell gets a leading apostrophe, which spreadsheets hide and treat as "text".
  Numbers are written as numbers (a negative price stays -1.5).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

BOM = "\ufeff"
LINE_END = "\r\n"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


def safe_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, defused with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_row(row: Mapping[str, Any], columns: list[str]) -> dict[str, object]:
    return {c: safe_cell(row.get(c)) for c in columns}


def _writer(out: TextIO, columns: list[str]) -> csv.DictWriter[str]:
    return csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator=LINE_END)


def write_csv(rows: Iterable[Mapping[str, Any]], columns: list[str], out: TextIO) -> int:
    """Stream rows (BOM, header, one line per row) to a text stream opened with `newline=""`;
    returns the number of data rows."""
    out.write(BOM)
    writer = _writer(out, columns)
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow(_safe_row(row, columns))
        n += 1
    return n


def csv_chunks(rows: Iterable[Mapping[str, Any]], columns: list[str], rows_per_chunk: int = 1000) -> Iterator[str]:
    """The same CSV as `write_csv`, as text chunks for an HTTP download: a chunk per batch of rows
    keeps memory flat for every customer's offers without a send per row."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = _writer(buffer, columns)
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow(_safe_row(row, columns))
        if n % rows_per_chunk == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
