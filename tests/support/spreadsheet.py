"""Reading back the project's CSV files (`models.contract.spreadsheet_csv`) the way a spreadsheet
does, checking the dialect on the way: a byte-order mark first, and, given the raw bytes, CRLF
after every record."""

from __future__ import annotations

import csv
import io
import re

from models.contract.spreadsheet_csv import BOM


def csv_table(data: bytes | str) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, rows) of one CSV file or download; fails on a missing BOM, and for bytes on a
    line not ended by CRLF."""
    if isinstance(data, bytes):
        assert data.startswith(BOM.encode()), f"no UTF-8 byte-order mark: {data[:20]!r}"
        unquoted = re.sub(rb'"(?:[^"]|"")*"', b"", data)  # a quoted cell may hold a bare newline
        assert data.endswith(b"\r\n") and unquoted.count(b"\n") == unquoted.count(b"\r\n"), "records end with CRLF"
        text = data.decode("utf-8")
    else:
        text = data
    assert text.startswith(BOM), f"no byte-order mark: {text[:20]!r}"
    reader = csv.DictReader(io.StringIO(text[len(BOM) :], newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def csv_rows(data: bytes | str) -> list[dict[str, str]]:
    return csv_table(data)[1]
