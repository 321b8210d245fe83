"""One SparkSession (local[2]) for every Spark test, and one artifact the Spark engine trained on
the suite's real data slice: starting Spark costs seconds, so the tests share both.

Fixtures here are registered in a test module by importing them (`from tests.support.spark
import spark_fixture, spark_artifacts_fixture  # noqa: F401`), not through a conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models.algorithms.als import ALSParams
from training.pipeline import TrainInputs, TrainParams
from training.selection.select import QualityParams

PARTITION_ROWS = 150  # the slice's 400 customers in three list files
# Small and quick: the tests check the engine's plumbing and parity, not the model's quality.
QUICK = TrainParams(als=ALSParams(factors=16, iterations=4), quality=QualityParams(force=True))


@pytest.fixture(scope="session", name="spark")
def spark_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from training.engines.spark.session import spark_session

    session = spark_session("local[2]", tmp_path_factory.mktemp("spark-checkpoints"), shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session", name="spark_artifacts")
def spark_artifacts_fixture(spark: object, retail_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.engines.spark.job import train_on_spark

    out = tmp_path_factory.mktemp("spark-artifacts")
    train_on_spark(TrainInputs(retail_slice, "online-retail"), out, QUICK, partition_rows=PARTITION_ROWS)
    return out
