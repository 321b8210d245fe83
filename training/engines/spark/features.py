"""`training.data.features.build_interactions`' confidence weights in Spark SQL.

One row per (customer, item, occasion) with the occasion's latest time; each occasion weighs
0.5 ** (age / half_life_days), summed per pair, then the scheme's scaling ("log": 1 + log1p,
"binary", "count", "tfidf"). Customers and items become the artifact's matrix rows (`IdMap`s
of sorted ids, as on one machine) by a broadcast join, so ALS's ids are the artifact's rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from models.algorithms.interactions import IdMap
from training.data.features import WeightParams

CUSTOMER, ITEM, CONFIDENCE = "row", "col", "confidence"


def occasions(purchases: DataFrame) -> DataFrame:
    """(customer_id, item_id, occasion, t): repeated lines on one invoice (or day) count once."""
    has_invoice = purchases.where(F.col("invoice").isNotNull()).limit(1).count() > 0
    occasion = F.col("invoice") if has_invoice else F.date_trunc("day", F.col("timestamp")).cast("string")
    keyed = purchases.select("customer_id", "item_id", occasion.alias("occasion"), "timestamp")
    return keyed.groupBy("customer_id", "item_id", "occasion").agg(F.max("timestamp").alias("t"))


def confidence(purchases: DataFrame, params: WeightParams) -> DataFrame:
    """(customer_id, item_id, confidence) as `build_interactions` weighs them."""
    occ = occasions(purchases)
    now = purchases.agg(F.max("timestamp").alias("now")).first()["now"]  # type: ignore[index]
    if params.half_life_days is None:
        weight = F.lit(1.0)
    else:
        age = (F.unix_micros(F.lit(now).cast("timestamp")) - F.unix_micros(F.col("t").cast("timestamp"))) / 86400e6
        weight = F.pow(F.lit(0.5), F.greatest(age, F.lit(0.0)) / params.half_life_days)
    summed = occ.groupBy("customer_id", "item_id").agg(F.sum(weight.cast("float")).alias("w"))
    if params.scheme == "binary":
        value = F.lit(1.0)
    elif params.scheme == "count":
        value = F.col("w")
    else:
        value = 1.0 + F.log1p(F.col("w"))
    out = summed.withColumn(CONFIDENCE, value.cast("float"))
    if params.scheme == "tfidf":
        out = _tfidf(out)
    return out.select("customer_id", "item_id", CONFIDENCE)


def _tfidf(pairs: DataFrame) -> DataFrame:
    customers = pairs.select("customer_id").distinct().count()
    buyers = pairs.groupBy("item_id").agg(F.count("*").alias("buyers"))
    idf = F.greatest(F.log(F.lit(float(customers)) / F.col("buyers")), F.lit(math.log(2.0) / 2))
    return pairs.join(buyers, "item_id").withColumn(CONFIDENCE, (F.col(CONFIDENCE) * idf).cast("float"))


def as_rows(pairs: DataFrame, customers: IdMap, items: IdMap) -> DataFrame:
    """(row, col, confidence): ids replaced by the artifact's matrix rows."""
    crow = id_rows(pairs.sparkSession, customers, "customer_id", CUSTOMER)
    irow = id_rows(pairs.sparkSession, items, "item_id", ITEM)
    joined = pairs.join(crow, "customer_id").join(F.broadcast(irow), "item_id")
    return joined.select(CUSTOMER, ITEM, CONFIDENCE)


def id_rows(spark: SparkSession, ids: IdMap, id_column: str, row_column: str) -> DataFrame:
    """(id, row) of an id map, through Arrow (a Python list of a million tuples is slow)."""
    frame = pd.DataFrame({id_column: ids.ids.astype(object), row_column: np.arange(len(ids), dtype=np.int32)})
    return spark.createDataFrame(frame, f"{id_column} string, {row_column} int")
