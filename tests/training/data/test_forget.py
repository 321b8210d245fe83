"""The training job honours the deny list: forgotten customers' rows and events never reach a new
version, from `<out>/privacy/forgotten.txt`, `--forget FILE` and, with `--events-from redis://`,
the Redis set the service writes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest
import redis
from typer.testing import CliRunner

from cli.main import app
from models import contract
from models.contract.artifact import load_artifact
from models.rules.privacy import append_forgotten, forgotten_path, read_forgotten
from tests.support.redis_server import RedisServer
from training.data.clean import clean_purchases
from training.data.forget import forgotten_customers
from training.errors import InputError

T0 = 1_291_000_000_000  # 2010-11-29, inside the bundled data's year


def test_deny_list_file_appends_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "privacy" / "forgotten.txt"
    append_forgotten(path, ["a"])
    append_forgotten(path, ["b", "a"])
    assert path.read_text() == "a\nb\na\n" and read_forgotten(path) == {"a", "b"}
    assert read_forgotten(tmp_path / "missing.txt") == set()


def test_missing_forget_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="deny list not found"):
        forgotten_customers(tmp_path, [tmp_path / "nope.txt"])


def test_cleaning_counts_forgotten_rows() -> None:
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", None],
            "item_id": ["10001"] * 4,
            "quantity": [1] * 4,
            "price": [1.0] * 4,
            "invoice": ["1"] * 4,
            "title": ["x"] * 4,
            "country": [None] * 4,
            "timestamp": pd.to_datetime(["2024-01-01"] * 4),
        }
    )
    result = clean_purchases(rows, forgotten={"b"}, fmt="canonical")
    assert result.counts["dropped_forgotten"] == 2 and result.counts["dropped_no_customer"] == 1
    assert result.purchases["customer_id"].tolist() == ["a"]


@pytest.mark.redis
def test_training_leaves_out_every_kind_of_forgotten_customer(
    retail_slice: Path, tmp_path: Path, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    customers = (
        pd.read_parquet(retail_slice)["Customer ID"].dropna().astype(int).astype(str).value_counts().index[:3].tolist()
    )
    by_file, by_option, by_redis = customers
    out = tmp_path / "artifacts"
    append_forgotten(forgotten_path(out), [by_file])
    option = tmp_path / "erasures.txt"
    option.write_text(f"{by_option}\n")
    redis_client.sadd(contract.FORGOTTEN_KEY, by_redis)
    item = "85123A"
    for n, customer in enumerate([by_redis, "new-customer"]):
        redis_client.xadd(
            contract.EVENTS_STREAM,
            {
                "customer_id": customer,
                "item_id": item,
                "type": "purchase",
                "ts": str(T0 + n),
                "quantity": "1",
                "section": "",
            },
            id=f"{T0 + n}-0",
        )

    result = CliRunner().invoke(
        app,
        [
            "train",
            "--purchases",
            str(retail_slice),
            "--format",
            "online-retail",
            "--out",
            str(out),
            "--forget",
            str(option),
            "--events-from",
            redis_server.url,
        ],
    )
    assert result.exit_code == 0, result.output

    artifact = load_artifact(out, with_events=True)
    raw = pd.read_parquet(retail_slice)
    raw_ids = raw["Customer ID"].dropna().astype(int).astype(str)
    assert not set(customers) & set(artifact.customers.ids.tolist())
    assert "new-customer" in artifact.customers
    assert artifact.manifest["counts"]["dropped_forgotten"] == int(raw_ids.isin(customers).sum()) > 0
    assert artifact.manifest["events"]["dropped_forgotten"] == 1
    assert artifact.events is not None and artifact.events["customer_id"].tolist() == ["new-customer"]
    assert artifact.manifest["events"]["last_id"] == f"{T0 + 1}-0"
    assert artifact.path is not None
    segments = orjson.loads((artifact.path / "segments.json").read_bytes())["segments"]
    assert not {c for s in segments for c in s["sample_customers"]} & set(customers)
