"""`microoffers experiment start | stop | status` on a real Redis, read back by the service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from cli.experiments import parse_variant
from cli.main import app
from models.contract import experiments
from models.contract.artifact import load_artifact
from models.contract.experiments import Experiment, Variant
from tests.support.redis_server import RedisServer
from training.publish import publish

pytestmark = pytest.mark.redis


def _run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["experiment", *args, "--redis-url", url])
    return result.exit_code, result.stdout, result.stderr


def test_variant_specs() -> None:
    assert parse_variant("A") == Variant("A")
    assert parse_variant("B=v2:3") == Variant("B", "v2", "personal", 3.0)
    assert parse_variant("H=popular") == Variant("H", None, "popular")


def test_start_status_stop(trained_artifacts: Path, redis_client: redis.Redis, redis_server: RedisServer) -> None:
    artifact = load_artifact(trained_artifacts)
    publish(artifact, redis_client)
    url = redis_server.url
    code, out, err = _run(
        url, "start", "cli-1", "--variant", f"A={artifact.version}", "--variant", "B", "--holdout", "0.2"
    )
    assert code == 0, err
    assert "A 40%" in out and "holdout 20%" in out
    running = Experiment.decode(redis_client.get(experiments.RUNNING_KEY))  # type: ignore[arg-type]
    assert running.id == "cli-1" and running.versions() == {artifact.version}
    code, _, err = _run(url, "start", "cli-2", "--variant", "A", "--variant", "B")
    assert code == 2 and "cli-1 is running" in err
    code, out, _ = _run(url, "status")
    assert out.split("\t")[:2] == ["cli-1", "running"]
    code, out, _ = _run(url, "status", "cli-1")
    results = json.loads(out)
    assert [v["name"] for v in results["variants"]] == ["A", "B", "holdout"]
    assert results["sample_ratio"]["mismatch"] is False
    assert _run(url, "stop", "cli-1")[0] == 0
    assert redis_client.get(experiments.RUNNING_KEY) is None
    assert _run(url, "stop", "cli-1")[0] == 2
    code, _, err = _run(url, "start", "cli-3", "--variant", "A=no-such-version", "--variant", "B")
    assert code == 2 and "not published" in err
