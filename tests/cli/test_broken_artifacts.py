"""A damaged artifact directory: every CLI command that reads it answers one line naming the file,
exits 2, and writes nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import resolve_version_dir


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


DAMAGE: dict[str, tuple[str, Callable[[Path], object]]] = {  # what a damage returns is unused
    "missing lists": ("lists.npz", Path.unlink),
    "truncated model": ("model.npz", _truncate),
    "junk manifest": ("manifest.json", lambda p: p.write_text("{not json")),
    "junk catalog": ("catalog.parquet", lambda p: p.write_bytes(b"PAR1 but not really")),
    "ids without customers": ("ids.npz", lambda p: shutil.copy(p.parent / "popular.npz", p)),
}


@pytest.fixture
def broken(trained_artifacts: Path, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    file, damage = DAMAGE[request.param]
    version = resolve_version_dir(trained_artifacts)
    copy = tmp_path / "artifacts" / version.name
    shutil.copytree(version, copy)
    damage(copy / file)
    return copy.parent, file


@pytest.mark.parametrize("broken", list(DAMAGE), indirect=True)
def test_export_of_a_damaged_artifact_is_one_clear_line(broken: tuple[Path, str], tmp_path: Path) -> None:
    root, file = broken
    out = tmp_path / "offers.csv"
    out.write_text("previous export\n")
    result = CliRunner().invoke(app, ["export", "--artifacts", str(root), "--all", "--out", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and file in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert out.read_text() == "previous export\n"


@pytest.mark.parametrize("broken", ["missing lists"], indirect=True)
def test_publish_and_serve_refuse_a_damaged_artifact_the_same_way(broken: tuple[Path, str]) -> None:
    root, file = broken
    for args in (
        ["publish", "--artifacts", str(root), "--redis-url", "redis://127.0.0.1:1/0"],
        ["serve", "--artifacts", str(root), "--port", "1"],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and file in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_export_of_a_directory_without_versions_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "--artifacts", str(tmp_path), "--segment", "0"])
    assert result.exit_code == 2 and result.stderr.startswith("error: no complete artifact version")


def test_export_to_an_unwritable_place_is_one_clear_line(trained_artifacts: Path, tmp_path: Path) -> None:
    out = tmp_path / "no-such-dir" / "offers.csv"
    result = CliRunner().invoke(
        app, ["export", "--artifacts", str(trained_artifacts), "--segment", "0", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {out}: No such file or directory"]
