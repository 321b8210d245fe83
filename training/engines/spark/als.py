"""ALS on Spark (`pyspark.ml.recommendation.ALS`, implicit feedback) into the project's
`ALSRecommender`, so the service folds customers in and finds similar items as it always does.

Spark's implicit ALS weighs its regularisation by each customer's number of ratings (ALS-WR),
implicit's does not: the same `regularization` means a stronger penalty here; the validation
figures in docs/scaling.md are measured with `SPARK_REGULARIZATION_SCALE` applied. The
checkpoint directory must be set on the session (`session.spark_session`): ALS checkpoints its
factors every `CHECKPOINT_INTERVAL` iterations, so the lineage stays short.
"""

from __future__ import annotations

import numpy as np
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.base import PARAMS_KEY
from training.engines.spark.features import CONFIDENCE, CUSTOMER, ITEM
from training.engines.spark.session import to_frame

CHECKPOINT_INTERVAL = 5
SPARK_REGULARIZATION_SCALE = 0.01  # Spark's per-rating penalty for implicit's per-customer one


def fit_als(ratings: DataFrame, params: ALSParams, shape: tuple[int, int]) -> ALSRecommender:
    """ALS fitted on (row, col, confidence); rows and items without a rating get zero vectors."""
    als = ALS(
        rank=params.factors,
        maxIter=params.iterations,
        regParam=params.regularization * SPARK_REGULARIZATION_SCALE,
        alpha=params.alpha,
        implicitPrefs=True,
        userCol=CUSTOMER,
        itemCol=ITEM,
        ratingCol=CONFIDENCE,
        seed=params.random_state,
        checkpointInterval=CHECKPOINT_INTERVAL,
        numUserBlocks=_blocks(ratings),
        numItemBlocks=_blocks(ratings),
    )
    fitted = als.fit(ratings)
    users = factors(fitted.userFactors, shape[0], params.factors)
    items = factors(fitted.itemFactors, shape[1], params.factors)
    return als_from_factors(params, users, items)


def _blocks(ratings: DataFrame) -> int:
    return max(2, ratings.sparkSession.sparkContext.defaultParallelism)


def factors(frame: DataFrame, n: int, rank: int) -> np.ndarray:
    """Spark's (id, features) rows as an (n, rank) float32 array indexed by id."""
    rows = to_frame(frame)
    out = np.zeros((n, rank), dtype=np.float32)
    if len(rows):
        out[rows["id"].to_numpy(dtype=np.int64)] = np.stack(rows["features"].to_numpy()).astype(np.float32)
    return out


def als_from_factors(params: ALSParams, users: np.ndarray, items: np.ndarray) -> ALSRecommender:
    state = {"user_factors": users, "item_factors": items, PARAMS_KEY: np.asarray(params.model_dump_json())}
    return ALSRecommender(params).restore(state)
