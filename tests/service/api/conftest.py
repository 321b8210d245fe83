"""Fixtures of the end-to-end API tests: an artifact trained with a catalog that takes the
best-sellers off the shelf."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from models.contract.artifact import load_artifact


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
