"""Numeric and text options out of bounds are a usage error (exit 2) naming the option, before
anything runs. Before, `serve --port 99999` (or 0) listened on a random port, `--workers 0`
and an empty `--host` reached uvicorn, and several train/evaluate/publish/export numbers had
no upper bound."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app

MISSING = "/nonexistent/artifacts"  # a command that gets past its options fails on this instead
BASE = {
    "serve": ["serve", "--artifacts", MISSING],
    "train": ["train", "--purchases", "/nonexistent/p.csv", "--out", "/nonexistent/out"],
    "evaluate": ["evaluate", "--purchases", "/nonexistent/p.csv"],
    "publish": ["publish", "--artifacts", MISSING, "--redis-url", "redis://127.0.0.1:1/0"],
    "export": ["export", "--artifacts", MISSING],
}

REFUSED = [
    ("serve", "--port", "99999"),
    ("serve", "--port", "65536"),
    ("serve", "--port", "0"),
    ("serve", "--port", "-1"),
    ("serve", "--workers", "0"),
    ("serve", "--workers", "1000"),
    ("serve", "--host", ""),
    ("serve", "--host", "  "),
    ("train", "--segments", "0"),
    ("train", "--segments", "100000"),
    ("train", "--min-segment-size", "0"),
    ("train", "--tune-budget", "-1"),
    ("train", "--tune-budget", "1e9"),
    ("evaluate", "--test-days", "0"),
    ("evaluate", "--test-days", "100000"),
    ("evaluate", "--tune-budget", "-1"),
    ("evaluate", "--k", "0"),
    ("evaluate", "--k", "10,101"),
    ("evaluate", "--k", "ten"),
    ("evaluate", "--windows", "0"),
    ("evaluate", "--windows", "53"),
    ("publish", "--chunk-size", "0"),
    ("publish", "--chunk-size", "10000000"),
    ("publish", "--workers", "0"),
    ("publish", "--workers", "1000"),
    ("export", "--segment", "-1"),
    ("export", "--k", "0"),
    ("export", "--k", "41"),
]


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.mark.parametrize(("command", "option", "value"), REFUSED)
def test_out_of_bounds_is_a_usage_error_naming_the_option(command: str, option: str, value: str) -> None:
    code, output = _run([*BASE[command], option, value])
    assert code == 2, output
    assert option in output and "Traceback" not in output
    assert "nonexistent" not in output  # refused before it looked at any input


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("serve", "--port", "1"),
        ("serve", "--port", "65535"),
        ("serve", "--workers", "64"),
        ("serve", "--host", "0.0.0.0"),
        ("train", "--tune-budget", "0"),
        ("evaluate", "--k", "1,100"),
        ("publish", "--workers", "64"),
        ("export", "--segment", "0"),
    ],
)
def test_the_bounds_themselves_are_accepted(command: str, option: str, value: str) -> None:
    """At the bounds the command goes on, to fail only on the missing input."""
    code, output = _run([*BASE[command], option, value])
    assert code == 2 and "nonexistent" in output, output
    assert f"Invalid value for '{option}'" not in output
