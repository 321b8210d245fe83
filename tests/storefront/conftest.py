"""Fixtures of the personal-store, segment and catalog-rule tests: an API client over either
store (embedded, or a real Redis the artifact was published to), and an artifact trained with a
catalog that takes the best-sellers off the shelf."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from service.app import create_app
from service.settings import Settings
from training.publish import publish

ClientFactory = Callable[[Path], TestClient]


@pytest.fixture(scope="module", params=["embedded", "redis"])
def open_client(request: pytest.FixtureRequest) -> Iterator[ClientFactory]:
    """`open_client(artifacts)` -> a started TestClient on the store this run is parametrized with."""
    opened: list[TestClient] = []

    def factory(artifacts: Path) -> TestClient:
        settings = Settings(artifacts=artifacts)
        if request.param == "redis":
            server = request.getfixturevalue("redis_server")
            r = redis.Redis.from_url(server.url)
            r.flushdb()
            publish(load_artifact(artifacts), r)
            settings = Settings(artifacts=artifacts, redis_url=server.url)
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def catalog_rules(
    retail_slice: Path, trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """Trained on the real slice with a catalog: the 5 best-sellers unavailable, the next 5
    available only from 2100, the next 3 available since yesterday; every third item "toys"."""
    from training.pipeline import TrainInputs, train

    plain = load_artifact(trained_artifacts)  # same data without a catalog: its best-sellers
    popular = [str(plain.items.ids[i]) for i in plain.popular_items]
    popular += sorted(set(plain.items.ids.tolist()) - set(popular))
    unavailable, future, since_yesterday = popular[:5], popular[5:10], popular[10:13]
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    frame = pd.DataFrame({"item_id": popular})
    frame["category"] = ["toys" if n % 3 == 0 else "home" for n in range(len(popular))]
    frame["available"] = ~frame["item_id"].isin(unavailable)
    frame["available_from"] = ""
    frame.loc[frame["item_id"].isin(future), "available_from"] = "2100-01-01"
    frame.loc[frame["item_id"].isin(since_yesterday), "available_from"] = yesterday
    root = tmp_path_factory.mktemp("catalog_rules")
    frame.to_csv(root / "catalog.csv", index=False)
    out = root / "artifacts"
    train(TrainInputs(retail_slice, "online-retail", root / "catalog.csv"), out)
    return {
        "artifacts": out,
        "blocked": set(unavailable) | set(future),
        "unavailable": set(unavailable),
        "future": set(future),
        "since_yesterday": set(since_yesterday),
        "toys": set(frame.loc[frame["category"] == "toys", "item_id"]),
    }
