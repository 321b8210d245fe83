"""`train --engine spark --spark-master spark://...` on a real standalone cluster: a master and
two workers started from pyspark's own `spark-class` on loopback, the CLI in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyspark
import pytest

from models.contract.artifact import load_artifact
from tests.support.paths import ROOT
from tests.support.redis_server import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
SPARK_HOME = Path(pyspark.__file__).parent


def _spark_class(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    with open(log, "wb") as out:
        return subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], env=env, stdout=out, stderr=out)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A master and two one-core workers; yields the master URL; stops the three processes it started."""
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    master_args = ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(free_port())]
    procs = [_spark_class(["org.apache.spark.deploy.master.Master", *master_args], tmp_path / "master.log")]
    try:
        assert wait_until(lambda: "I have been elected leader" in (tmp_path / "master.log").read_text(), timeout=90)
        for i in range(2):
            worker = ["--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(free_port())]
            worker += ["--work-dir", str(tmp_path / f"work{i}")]
            procs.append(_spark_class(["org.apache.spark.deploy.worker.Worker", url, *worker], tmp_path / f"w{i}.log"))
        master_log = tmp_path / "master.log"
        assert wait_until(lambda: master_log.read_text().count("Registering worker") >= 2, timeout=90)
        yield url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_trains_on_a_standalone_cluster_of_two_workers(cluster: str, retail_slice: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(retail_slice)
    small = frame[frame["Customer ID"].isin(frame["Customer ID"].dropna().unique()[:150])]
    data = tmp_path / "small.parquet"
    small.to_parquet(data, index=False)
    out = tmp_path / "artifacts"
    command = [sys.executable, "-m", "cli.main", "train", "--purchases", str(data), "--format", "online-retail"]
    command += ["--out", str(out), "--engine", "spark", "--spark-master", cluster, "--force", "--segments", "4"]
    command += ["--spark-checkpoint-dir", str(tmp_path / "checkpoints"), "--spark-als-iterations", "6"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    artifact = load_artifact(out)
    assert artifact.manifest["engine"]["master"] == cluster
    assert artifact.manifest["params"]["als"]["iterations"] == 6
    assert len(artifact.customers) == artifact.manifest["counts"]["customers"] > 100
    assert (artifact.discovery_items[:, 0] >= 0).all()
    assert "Registering app microoffers-train" in (tmp_path / "master.log").read_text()
