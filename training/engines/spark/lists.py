"""Every customer's lists, computed where the customers are: per partition of Spark's user
factors, with the item factors and the offerable mask broadcast once.

Each partition runs `training.lists.precompute_lists` on its own customers: the project's exact
pruned inner-product search (`models.algorithms.search.inner_product`), discovery filtered from
it, and the exact second pass for customers who bought their own top items; not
`recommendForAllUsers`, which scores every item and knows nothing of purchases or availability.
The lists equal the single-machine lists of the same factors (tests/training/engines/).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from models.algorithms.als import ALSParams
from training.engines.spark.als import als_from_factors
from training.engines.spark.features import CUSTOMER, ITEM
from training.engines.spark.session import to_frame
from training.lists import LIST_NAMES, precompute_lists

LISTS_SCHEMA = (
    "row int, discovery_items array<int>, discovery_scores array<float>, all_items array<int>, all_scores array<float>"
)


def spark_lists(
    user_factors: DataFrame,
    ratings: DataFrame,
    item_factors: np.ndarray,
    offerable: np.ndarray,
    params: ALSParams,
    k: int,
) -> DataFrame:
    """(row, the four lists) per customer, one Spark task per partition of `user_factors`."""
    sc = ratings.sparkSession.sparkContext
    shared = sc.broadcast((item_factors.astype(np.float32), offerable.astype(bool)))
    bought = ratings.groupBy(CUSTOMER).agg(F.collect_list(ITEM).alias("bought"))
    users = user_factors.select(F.col("id").alias(CUSTOMER), "features").join(bought, CUSTOMER, "left")
    json = params.model_dump_json()

    def partition_lists(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        items, allowed = shared.value
        for batch in batches:
            yield batch_lists(batch, items, allowed, ALSParams.model_validate_json(json), k)

    return users.mapInPandas(partition_lists, LISTS_SCHEMA)


def batch_lists(
    batch: pd.DataFrame, items: np.ndarray, offerable: np.ndarray, params: ALSParams, k: int
) -> pd.DataFrame:
    """The lists of one batch of customers (their factors and purchased item rows)."""
    n = len(batch)
    out: dict[str, object] = {CUSTOMER: batch[CUSTOMER].to_numpy(dtype=np.int32)}
    if n == 0:
        return pd.DataFrame({CUSTOMER: [], **{name: [] for name in LIST_NAMES}})
    users = np.stack(batch["features"].to_numpy()).astype(np.float32)
    bought = [np.asarray(b if b is not None else [], dtype=np.int64) for b in batch["bought"]]
    indptr = np.concatenate([[0], np.cumsum([len(b) for b in bought])])
    indices = np.concatenate(bought) if indptr[-1] else np.zeros(0, dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(n, len(items)))
    matrix.sum_duplicates()
    lists = precompute_lists(als_from_factors(params, users, items), matrix, offerable, k)
    for name in LIST_NAMES:
        out[name] = list(lists[name])
    return pd.DataFrame(out)


def collect_lists(lists: DataFrame, n_customers: int, k: int) -> dict[str, np.ndarray]:
    """The four (customers x k) arrays on the driver, in row order (missing rows stay empty)."""
    frame = to_frame(lists)
    rows = frame[CUSTOMER].to_numpy(dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for name in LIST_NAMES:
        is_items = name.endswith("items")
        array = np.full((n_customers, k), -1 if is_items else -np.inf, dtype=np.int32 if is_items else np.float32)
        if len(frame):
            array[rows] = np.stack(frame[name].to_numpy())
        out[name] = array
    return out
