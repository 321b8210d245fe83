"""A publish killed with SIGKILL mid-way leaves the previous version fully served; rerunning
completes and removes the half-written namespace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from models import contract
from models.contract.artifact import load_artifact
from tests.support.paths import BUNDLED, ROOT
from tests.support.redis_reads import value
from tests.support.waiting import wait_until
from training.pipeline import TrainInputs, train
from training.publish import PENDING_KEY, publish

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def full_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole bundled year: enough customers for a publish to take a moment."""
    out = tmp_path_factory.mktemp("full")
    train(TrainInputs(BUNDLED, "online-retail"), out)
    return out


def _publish_cmd(artifacts: Path, url: str, chunk: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cli.main",
        "publish",
        "--artifacts",
        str(artifacts),
        "--redis-url",
        url,
        "--chunk-size",
        str(chunk),
    ]


def test_killed_publish_keeps_previous_version_and_rerun_completes(
    full_artifacts: Path,
    trained_artifacts: Path,
    redis_server,
    redis_client: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    old = load_artifact(trained_artifacts)
    publish(old, redis_client)
    new = load_artifact(full_artifacts)
    new_prefix = contract.version_prefix(new.version)

    proc = subprocess.Popen(
        _publish_cmd(full_artifacts, redis_server.url, 10),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_until(
        lambda: len(list(redis_client.scan_iter(match=f"{new_prefix}:c:*", count=1000))) >= 50, 60, interval=0.005
    ), "the publish wrote no 50 customers in 60 s"
    proc.kill()
    proc.wait()

    assert redis_client.exists(contract.complete_key(new.version)) == 0, "publish finished before the kill"
    assert redis_client.sismember(PENDING_KEY, new.version)
    assert value(redis_client, contract.CURRENT_KEY).decode() == old.version
    for customer in old.customers.ids[:50]:
        assert redis_client.get(contract.customer_key(old.version, str(customer))) is not None

    # A publish of another version cleans the half-written one up ...
    other = load_artifact(trained_artifacts)
    other.manifest = {**other.manifest, "version": "v-other"}
    publish(other, redis_client)
    assert not list(redis_client.scan_iter(match=f"{new_prefix}:*", count=1000))

    # ... and rerunning the killed publish completes it.
    result = subprocess.run(
        _publish_cmd(full_artifacts, redis_server.url, 2000), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert value(redis_client, contract.CURRENT_KEY).decode() == new.version
    assert redis_client.get(contract.customer_key(new.version, str(new.customers.ids[-1]))) is not None
