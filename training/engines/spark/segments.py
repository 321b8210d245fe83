"""Micro-segments with Spark ML's k-means, on the features and with the merge rule of
`training.storefront.segments` (taste direction and weighted log-RFM; groups below `min_size`
dissolved into the nearest remaining one, ids by size)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from pyspark.ml.clustering import KMeans
from pyspark.ml.functions import array_to_vector
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from training.engines.spark.session import to_frame
from training.storefront.segments import SegmentParams, merge_small, segment_features

log = logging.getLogger(__name__)
Assign = Callable[[np.ndarray, np.ndarray, SegmentParams], np.ndarray]


def spark_segments(spark: SparkSession) -> Assign:
    """`assign_segments` for `build_storefront`, clustering on `spark`."""

    def assign(factors: np.ndarray, rfm: np.ndarray, params: SegmentParams) -> np.ndarray:
        if len(factors) == 0:
            return np.zeros(0, dtype=np.int32)
        features = segment_features(factors, rfm, params.rfm_weight)
        labels = kmeans(spark, features, params.n_segments, params.random_state)
        labels = merge_small(features, labels, params.min_size)
        log.info("%d customers in %d Spark k-means segments", len(labels), labels.max() + 1)
        return labels

    return assign


def kmeans(spark: SparkSession, features: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """Each row's cluster by Spark ML k-means (k-means|| start), in row order."""
    n_clusters = max(1, min(n_clusters, len(features)))
    if n_clusters == 1:
        return np.zeros(len(features), dtype=np.int32)
    frame = pd.DataFrame({"row": np.arange(len(features), dtype=np.int64), "f": list(features.astype(np.float64))})
    rows = spark.createDataFrame(frame, "row long, f array<double>").select(
        "row", array_to_vector(F.col("f")).alias("v")
    )
    model = KMeans(k=n_clusters, seed=seed, featuresCol="v", predictionCol="label", maxIter=30).fit(rows)
    predicted = to_frame(model.transform(rows).select("row", F.col("label").cast("int")))
    labels = np.zeros(len(features), dtype=np.int32)
    labels[predicted["row"].to_numpy()] = predicted["label"].to_numpy(dtype=np.int32)
    return labels
