"""`microoffers evaluate --compare A B` end to end: two artifacts trained through the CLI,
refitted as their manifests record on the same rolling windows; and `--windows` backtests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.support.synthetic_shop import taste_shop, write_csv


def train(csv: Path, out: Path, *tuning: str) -> Path:
    args = ["train", "--purchases", str(csv), "--out", str(out), "--segments", "3", "--min-segment-size", "5"]
    result = CliRunner().invoke(app, [*args, *tuning])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The shop's file, an untuned artifact (A) and one tuned for a second (B)."""
    root = tmp_path_factory.mktemp("compare")
    csv = write_csv(taste_shop(), root / "shop.csv")
    return csv, train(csv, root / "a", "--no-tune"), train(csv, root / "b", "--tune", "--tune-budget", "1")


def compare(csv: Path, a: Path, b: Path, out: Path) -> tuple[str, dict]:  # type: ignore[type-arg]
    args = ["evaluate", "--purchases", str(csv), "--compare", str(a), "--compare", str(b), "--test-days", "14"]
    result = CliRunner().invoke(app, [*args, "--windows", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    json_path = Path(result.stdout.strip().splitlines()[-1].removeprefix("json: "))
    return result.stdout, json.loads(json_path.read_text())


def test_compare_prints_the_table_and_writes_json_for_the_same_windows(
    shop: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    csv, a, b = shop
    stdout, result = compare(csv, a, b, tmp_path)
    assert "| model | kind | window 1 | window 2 | window 3 | mean NDCG@10 | 95% CI (t) |" in stdout
    assert "B - A: difference" in stdout
    assert len(result["protocol"]["windows"]) == 3
    models_a = json.loads((next(a.iterdir()) / "manifest.json").read_text())["selection"]["models"]
    assert result["artifacts"]["A"]["models"] == {t: m["name"] for t, m in models_a.items()}
    for task in ("all", "discovery"):
        part = result["backtest"][task]
        rows, paired = part["models"], part["paired"]
        assert [len(rows[x]["per_window"]) for x in ("A", "B")] == [3, 3]
        diffs = [rows["B"]["per_window"][w]["mean"] - rows["A"]["per_window"][w]["mean"] for w in range(3)]
        assert [p["diff"] for p in paired["per_window"]] == pytest.approx(diffs)
        assert all(p["n"] == rows["A"]["per_window"][w]["n"] for w, p in enumerate(paired["per_window"]))
        assert paired["diff"]["low"] <= paired["diff"]["mean"] <= paired["diff"]["high"]


def test_an_artifact_against_itself_differs_by_exactly_nothing(shop: tuple[Path, Path, Path], tmp_path: Path) -> None:
    csv, a, _ = shop
    _, result = compare(csv, a, a, tmp_path)
    for part in result["backtest"].values():
        assert part["models"]["A"]["per_window"] == part["models"]["B"]["per_window"]
        assert all(p["diff"] == p["low"] == p["high"] == 0.0 for p in part["paired"]["per_window"])


def test_compare_needs_two_artifacts(shop: tuple[Path, Path, Path]) -> None:
    csv, a, _ = shop
    result = CliRunner().invoke(app, ["evaluate", "--purchases", str(csv), "--compare", str(a)])
    assert result.exit_code == 2 and "--compare takes two artifacts" in result.output


def test_evaluate_windows_runs_a_backtest(tmp_path: Path) -> None:
    csv = write_csv(taste_shop(), tmp_path / "shop.csv")
    args = ["evaluate", "--purchases", str(csv), "--test-days", "14", "--windows", "2", "--k", "10"]
    result = CliRunner().invoke(app, [*args, "--tune-budget", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Backtest: rolling origin, 2 consecutive windows" in result.stdout
    metrics = json.loads(Path(result.stdout.strip().splitlines()[-1].removeprefix("json: ")).read_text())
    assert len(metrics["windows"]) == 2 and set(metrics["backtest"]) == {"all", "discovery"}
    assert "tifu_knn" in metrics["backtest"]["all"]["models"]
