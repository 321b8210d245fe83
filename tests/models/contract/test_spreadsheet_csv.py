from __future__ import annotations

import io

import pytest

from models.contract.spreadsheet_csv import BOM, csv_chunks, safe_cell, write_csv
from tests.support.spreadsheet import csv_table

COLUMNS = ["customer_id", "title", "price"]
ROWS: list[dict[str, object]] = [
    {"customer_id": "c1", "title": 'Mug, "large"\nblue', "price": 2.55},
    {"customer_id": "c2", "title": '=HYPERLINK("http://x")', "price": -1.5},
    {"customer_id": "c3", "title": "Café crème", "price": None, "extra": "ignored"},
]


def _written(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO(newline="")
    assert write_csv(rows, COLUMNS, out) == len(rows)
    return out.getvalue().encode("utf-8")


def test_file_has_a_bom_crlf_lines_and_reads_back_with_quoting_intact() -> None:
    data = _written(ROWS)
    assert data.startswith(b"\xef\xbb\xbfcustomer_id,title,price\r\n")
    columns, rows = csv_table(data)
    assert columns == COLUMNS
    assert [r["title"] for r in rows] == ['Mug, "large"\nblue', '\'=HYPERLINK("http://x")', "Café crème"]
    assert [r["price"] for r in rows] == ["2.55", "-1.5", ""]  # numbers stay numbers, even negative


@pytest.mark.parametrize("text", ["=1+1", "+44 20", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Mug", "a=b", "", 3, -3.5, None])
def test_other_cells_are_left_as_they_are(value: object) -> None:
    assert safe_cell(value) == value


def test_chunks_of_a_download_are_the_same_file() -> None:
    rows = ROWS * 5
    chunks = list(csv_chunks(rows, COLUMNS, rows_per_chunk=4))
    assert len(chunks) == 4 and chunks[0].startswith(BOM) and not chunks[1].startswith(BOM)
    assert "".join(chunks).encode() == _written(rows)


def test_no_rows_is_still_a_header_with_a_bom() -> None:
    assert _written([]) == BOM.encode() + b"customer_id,title,price\r\n"
