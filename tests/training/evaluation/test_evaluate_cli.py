"""`microoffers evaluate`: the Markdown table on the console, report.html and metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.support.synthetic_shop import taste_shop, write_csv


def test_evaluate_prints_the_table_and_writes_the_report(tmp_path: Path) -> None:
    csv = write_csv(taste_shop(), tmp_path / "shop.csv")
    args = [
        "evaluate",
        "--purchases",
        str(csv),
        "--test-days",
        "21",
        "--k",
        "5,10",
        "--tune-budget",
        "1",
        "--out",
        str(tmp_path / "artifacts"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "| model | kind | NDCG@10 95% CI | selected's lead | NDCG@5 |" in result.output
        and "| popularity | baseline |" in result.output
    )
    html = next((tmp_path / "artifacts" / "evaluations").glob("*/report.html"))
    metrics = json.loads((html.parent / "metrics.json").read_text())
    assert metrics["protocol"]["ks"] == [5, 10] and set(metrics["metrics"]) == {"all", "discovery"}
    assert html.read_text().count("<img") >= 4
    shop = taste_shop()  # the cleaning summary ends stderr without -v (it was only logged with -v)
    assert result.stderr.strip().splitlines()[-1] == f"  kept {len(shop):,} purchases by 90 customers of 45 items"
    assert f"cleaning (canonical rules): {len(shop):,} rows in" in result.stderr


def test_evaluate_rejects_bad_cutoffs(tmp_path: Path) -> None:
    csv = write_csv(taste_shop(n_customers=9, days=40), tmp_path / "shop.csv")
    result = CliRunner().invoke(app, ["evaluate", "--purchases", str(csv), "--k", "ten"])
    assert result.exit_code == 2 and "--k" in result.output
