"""`microoffers export`: segment offers as CSV for CRM and e-mail tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import load_artifact
from models.contract.export import CUSTOMER_COLUMNS, SEGMENT_COLUMNS
from tests.support.spreadsheet import csv_table


@pytest.fixture(scope="module")
def artifact(trained_artifacts: Path):  # type: ignore[no-untyped-def]
    return load_artifact(trained_artifacts)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["export", *args])
    return result.exit_code, result.stdout, result.stderr


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    return csv_table(text)


def test_segment_export_lists_its_offers_in_order(trained_artifacts: Path, artifact) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run("--artifacts", str(trained_artifacts), "--segment", "2", "--format", "csv", "--k", "6")
    assert code == 0, err
    columns, rows = _rows(out)
    assert columns == SEGMENT_COLUMNS and len(rows) == 6 and "wrote 6 rows" in err
    offers = artifact.storefront.offers
    expected = offers[offers.segment == 2].sort_values("rank").head(6)
    assert [r["item_id"] for r in rows] == [str(artifact.items.ids[i]) for i in expected.item_row]
    assert [int(r["rank"]) for r in rows] == list(range(1, 7))
    assert all(r["segment_name"] == artifact.storefront.segments[2]["name"] for r in rows)
    assert float(rows[0]["lift"]) == pytest.approx(float(expected.lift.iloc[0]), abs=1e-3)
    titles = artifact.catalog.set_index("item_id")["title"]
    assert all(r["title"] == titles[r["item_id"]] and "of this segment" in r["reason"] for r in rows)


def test_all_export_gives_every_customer_their_segments_unbought_offers(
    trained_artifacts: Path,
    artifact,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    out_file = tmp_path / "offers.csv"
    code, _, err = _run("--artifacts", str(trained_artifacts), "--all", "--k", "3", "--out", str(out_file))
    assert code == 0, err
    columns, rows = csv_table(out_file.read_bytes())
    assert columns == CUSTOMER_COLUMNS
    sf, h = artifact.storefront, artifact.history
    by_customer: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_customer.setdefault(r["customer_id"], []).append(r)
    assert len(by_customer) > len(artifact.customers) * 0.95
    for cid, mine in list(by_customer.items())[:100]:
        row = artifact.customers.row(cid)
        assert len(mine) <= 3 and [int(r["rank"]) for r in mine] == list(range(1, len(mine) + 1))
        assert {int(r["segment_id"]) for r in mine} == {int(sf.segment_of[row])}
        bought = {str(artifact.items.ids[i]) for i in h.indices[h.indptr[row] : h.indptr[row + 1]]}
        offered = sf.offers[sf.offers.segment == sf.segment_of[row]].item_row
        segment_items = {str(artifact.items.ids[i]) for i in offered}
        assert {r["item_id"] for r in mine} <= segment_items - bought


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--segment", "999"], "segment 999 does not exist"),
        ([], "exactly one of --segment ID or --all"),
        (["--all", "--segment", "1"], "exactly one"),
        (["--all", "--format", "xlsx"], "--format must be csv"),
        (["--all", "--as-of", "soon"], "--as-of must be a date"),
    ],
)
def test_bad_export_requests_are_one_line_exit_2(
    trained_artifacts: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out_file = tmp_path / "x.csv"
    code, _, err = _run("--artifacts", str(trained_artifacts), "--out", str(out_file), *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert not out_file.exists()


def test_train_cli_takes_segment_count_and_minimum_size(retail_slice: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--no-tune",
            "--purchases",
            str(retail_slice),
            "--format",
            "online-retail",
            "--out",
            str(tmp_path),
            "--segments",
            "4",
            "--min-segment-size",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    sf = load_artifact(tmp_path).storefront
    assert sf is not None
    sizes = [s["size"] for s in sf.segments]
    assert 1 <= len(sizes) <= 4 and min(sizes) >= 50 and sum(sizes) == len(sf.segment_of)
