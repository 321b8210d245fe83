"""`train --engine` names the engines it knows; the single-machine engine stays the default."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app


def test_an_unknown_engine_is_refused_by_name(tmp_path: Path) -> None:
    data = tmp_path / "p.csv"
    data.write_text("customer_id,item_id,timestamp\nc1,a,2024-01-01\n")
    result = CliRunner().invoke(app, ["train", "--purchases", str(data), "--out", str(tmp_path), "--engine", "hadoop"])
    assert result.exit_code != 0
    assert "--engine must be single or spark, not 'hadoop'" in result.output


def test_single_is_the_default_engine() -> None:
    result = CliRunner().invoke(app, ["train", "--help"])
    assert "--engine" in result.output and "single" in result.output
