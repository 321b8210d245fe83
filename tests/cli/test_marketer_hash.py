"""`microoffers marketer-hash`: prints a salted scrypt hash of the password it reads (or the
`name:hash` entry for MICROOFFERS_MARKETERS), which the service then accepts as that marketer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from service.preview.passwords import verify_password
from service.settings import Settings
from tests.support.paths import ROOT


def test_the_printed_entry_signs_the_marketer_in() -> None:
    result = CliRunner().invoke(app, ["marketer-hash", "alice"], input="a-long-password\n")
    assert result.exit_code == 0, result.output
    entry = result.stdout.strip()
    assert entry.startswith("alice:scrypt$") and "a-long-password" not in entry
    hashes = Settings(artifacts=Path("unused"), marketers=entry).marketer_hashes()  # type: ignore[call-arg]
    assert verify_password("a-long-password", hashes["alice"])
    assert not verify_password("another-password", hashes["alice"])


def test_without_a_name_only_the_hash_is_printed_and_bad_input_is_refused() -> None:
    runner = CliRunner()
    alone = runner.invoke(app, ["marketer-hash"], input="a-long-password\n")
    assert alone.exit_code == 0 and alone.stdout.startswith("scrypt$")
    short = runner.invoke(app, ["marketer-hash", "alice"], input="short\n")
    assert short.exit_code == 2 and "8 characters" in short.output
    reserved = runner.invoke(app, ["marketer-hash", "marketer"], input="a-long-password\n")
    assert reserved.exit_code == 2 and "reserved" in reserved.output


def test_from_a_pipe_as_in_a_deploy_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "marketer-hash", "bob"],
        input="bobs-password-1\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert verify_password("bobs-password-1", done.stdout.strip().split(":", 1)[1])
