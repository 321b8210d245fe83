"""The Spark engine's artifact is the single-machine format: its lists are those of the
project's own search on the same factors, it loads, publishes (partitions in parallel) into
the suite's real Redis, serves /recommend and exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from typer.testing import CliRunner

from cli.main import app
from models import contract
from models.contract.artifact import list_partitions, load_artifact, resolve_version_dir
from tests.support.apps import client_for
from tests.support.keys import API_KEY
from tests.support.redis_reads import value
from tests.support.spark import PARTITION_ROWS, spark_artifacts_fixture, spark_fixture  # noqa: F401
from training.lists import LIST_NAMES, precompute_lists
from training.publish_partitions import partition_ranges, publish_artifact
from training.storefront.build import deliverable_mask

pytestmark = pytest.mark.slow


def test_lists_come_in_partitions_and_read_back_as_one_artifact(spark_artifacts: Path) -> None:
    directory = resolve_version_dir(spark_artifacts)
    manifest = json.loads((directory / "manifest.json").read_text())
    artifact = load_artifact(spark_artifacts)
    n = len(artifact.customers)
    assert list_partitions(manifest, n) == [(0, 150), (150, 300), (300, n)]
    assert not (directory / "lists.npz").exists()
    first = np.load(directory / "lists-00001.npz", allow_pickle=False)
    assert np.array_equal(first["all_items"], artifact.all_items[PARTITION_ROWS : 2 * PARTITION_ROWS])
    assert artifact.discovery_items.shape == (n, 100)
    assert manifest["engine"]["name"] == "spark"


def test_per_partition_lists_equal_the_single_machine_search_on_the_same_factors(spark_artifacts: Path) -> None:
    artifact = load_artifact(spark_artifacts)
    offerable = deliverable_mask(artifact.items.ids, artifact.catalog)
    expected = precompute_lists(artifact.model, artifact.history, offerable, 100)
    for name in LIST_NAMES:
        assert np.array_equal(getattr(artifact, name), expected[name]), name


def test_segments_come_from_spark_kmeans_and_cover_every_customer(spark_artifacts: Path) -> None:
    artifact = load_artifact(spark_artifacts)
    assert artifact.storefront is not None
    labels = artifact.storefront.segment_of
    assert len(labels) == len(artifact.customers) and labels.min() == 0
    sizes = np.bincount(labels)
    assert len(sizes) > 1 and (sizes >= 20).all() and (np.diff(sizes) <= 0).all()  # merged, largest first


@pytest.mark.redis
def test_publishes_partitions_in_parallel_serves_and_exports(
    spark_artifacts: Path, redis_server: Any, redis_client: redis.Redis, tmp_path: Path
) -> None:
    artifact = load_artifact(spark_artifacts)
    n = len(artifact.customers)
    assert partition_ranges(artifact, step=100) == [(0, 100), (100, 150), (150, 250), (250, 300), (300, n)]
    report = publish_artifact(artifact, redis_client, workers=2)
    assert report.customers == len(artifact.customers)
    assert value(redis_client, contract.CURRENT_KEY).decode() == artifact.version
    last = str(artifact.customers.ids[-1])
    assert contract.decode_offers(value(redis_client, contract.customer_key(artifact.version, last)))
    with client_for(spark_artifacts, redis_server.url) as client:
        answer = client.get(f"/recommend/{last}?k=5", headers={"X-API-Key": API_KEY})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) == 5
    out = tmp_path / "offers.csv"
    result = CliRunner().invoke(app, ["export", "--artifacts", str(spark_artifacts), "--all", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8-sig").count("\n") > len(artifact.customers)
