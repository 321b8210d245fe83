"""What `train` tells a person about cleaning: a shop's own ids survive, the summary always ends
stderr, and a file the rules empty says which rule took what, with rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import load_artifact
from tests.support.synthetic_shop import taste_shop, write_csv

# Ids the Online Retail non-product rule would drop: no digit, or starting with test / gift_.
WORDS = ["apple", "bread", "test tube", "TEST-KIT", "gift_box", "GIFT", "POST", "M"]


def _worded(frame: pd.DataFrame) -> pd.DataFrame:
    """The same shop with every item id a word (no digits)."""
    ids = sorted(frame["item_id"].unique())
    words = WORDS + [f"item {chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(len(ids) - len(WORDS))]
    return frame.assign(item_id=frame["item_id"].map(dict(zip(ids, words))))


def _train(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["train", "--no-tune", *args])
    return result.exit_code, result.stdout, result.stderr


def test_canonical_train_keeps_word_ids_and_ends_stderr_with_the_summary(tmp_path: Path) -> None:
    """Regression: word ids trained to "no purchases left after cleaning" (exit 2, no reason), and
    the counts were only printed with -v."""
    shop = _worded(taste_shop())
    csv = write_csv(shop, tmp_path / "shop.csv")
    code, stdout, stderr = _train("--purchases", str(csv), "--out", str(tmp_path / "out"))
    assert code == 0, stderr
    artifact = load_artifact(Path(stdout.strip().splitlines()[-1]))  # stdout is still just the version path
    assert sorted(map(str, artifact.items.ids)) == sorted(shop["item_id"].unique())
    assert stderr.strip().splitlines()[-6:] == [
        f"cleaning (canonical rules): {len(shop):,} rows in",
        "  dropped 0: no customer id",
        "  dropped 0: forgotten customers (deny list)",
        "  set aside 0: returns (quantity 0 or below)",
        "  dropped 0: price 0 or below",
        f"  kept {len(shop):,} purchases by 90 customers of 45 items",
    ]
    assert "Online Retail" not in stderr


def test_a_canonical_file_the_rules_empty_names_rules_and_rows(tmp_path: Path) -> None:
    csv = tmp_path / "purchases.csv"
    csv.write_text(
        "customer_id,item_id,timestamp,quantity\nc1,apple,2024-01-01,0\n,bread,2024-01-02,1\nc2,bread,2024-01-03,-2\n"
    )
    out = tmp_path / "out"
    code, _, stderr = _train("--purchases", str(csv), "--out", str(out))
    assert code == 2
    lines = stderr.strip().splitlines()
    assert lines[-1] == (
        f"error: file {csv}: no purchases left after cleaning: 3 rows in; 'no customer id' dropped 1, "
        "e.g. row 3 customer_id=None; 'returns (quantity 0 or below)' set aside 2, e.g. row 2 quantity=0, "
        "row 4 quantity=-2"
    )
    assert lines[-2] == "  kept 0 purchases by 0 customers of 0 items"  # the summary, then the error
    assert not out.exists() or not any(out.iterdir())


def test_an_online_retail_file_the_rules_empty_shows_the_files_own_headers(tmp_path: Path) -> None:
    """Regression: the error said only "no purchases left after cleaning"."""
    path = tmp_path / "retail.parquet"
    pd.DataFrame(
        {
            "Invoice": ["1", "2", "3", "C4"],
            "StockCode": ["POST", "M", "AMAZONFEE", "85123A"],
            "Quantity": [1, 1, 1, 2],
            "InvoiceDate": ["2010-01-01"] * 4,
            "Price": [1.0, 1.0, 1.0, 1.0],
            "Customer ID": [1.0, 2.0, 3.0, 4.0],
        }
    ).to_parquet(path)
    code, _, stderr = _train("--purchases", str(path), "--format", "online-retail", "--out", str(tmp_path / "o"))
    assert code == 2
    assert stderr.strip().splitlines()[-1] == (
        f"error: file {path}: no purchases left after cleaning: 4 rows in; 'non-product codes (Online Retail "
        "rules)' dropped 3, e.g. row 1 StockCode='POST', row 2 StockCode='M', row 3 StockCode='AMAZONFEE'; "
        "'returns (quantity 0 or below, or an Online Retail C... cancellation invoice)' set aside 1, "
        "e.g. row 4 Invoice='C4' Quantity=2"
    )
