"""The shop the model-based test drives: a small slice of the bundled purchases, one version
trained on it once per session (every example starts from a copy of it), and the pools of
customers and items the rules draw from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.shop import ShopData, build_shop_data
from tests.support.paths import BUNDLED

SLICE_CUSTOMERS = 150


@pytest.fixture(scope="session")
def shop_data(tmp_path_factory: pytest.TempPathFactory) -> ShopData:
    frame = pd.read_parquet(BUNDLED)
    customers = frame["Customer ID"].dropna().drop_duplicates().sort_values().iloc[:SLICE_CUSTOMERS]
    purchases: Path = tmp_path_factory.mktemp("mbt-data") / "purchases.parquet"
    frame[frame["Customer ID"].isin(customers)].to_parquet(purchases, index=False)
    return build_shop_data(purchases, tmp_path_factory.mktemp("mbt-base"), tmp_path_factory.mktemp("mbt-examples"))
