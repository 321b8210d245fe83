"""One SparkSession per process, configured for this job: Python workers run this interpreter
(they unpickle the project's functions), timestamps stay naive UTC, Arrow moves frames, and ALS
checkpoints into a directory (without one, long lineages end in `StackOverflowError`)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import cast

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[2]"


def spark_session(
    master: str = DEFAULT_MASTER, checkpoint_dir: Path | None = None, shuffle_partitions: int = 8
) -> SparkSession:
    """The active session when there is one for `master` (tests share one), else a new one."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        active.stop()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("microoffers-train")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.driver.memory", "4g")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.executorEnv.PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if checkpoint_dir is not None:
        spark.sparkContext.setCheckpointDir(str(checkpoint_dir))
    return spark


def to_frame(frame: DataFrame) -> pd.DataFrame:
    """`frame` collected to the driver as pandas, through Arrow (typed for mypy: pyspark's stub
    names a protocol)."""
    return cast(pd.DataFrame, frame.toPandas())
