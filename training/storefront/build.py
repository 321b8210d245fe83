"""The training step behind the personal store and the micro-segments: profiles and loyalty,
segments with names and offers, similar items, trending per segment, and new arrivals.

Lists never hold an item the catalog marks unavailable. Items whose `available_from` is still
ahead are kept: the service drops them per request until that day comes, so they appear without
retraining (`CatalogItem.offerable`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models.algorithms.als import ALSRecommender
from models.algorithms.base import top_k
from models.algorithms.interactions import Interactions
from models.contract.storefront import Storefront
from models.rules.ranking import bought_mask
from training.data.features import day_number, purchase_occasions
from training.storefront.customers import customer_profiles, loyalty_tiers, rfm_array
from training.storefront.offers import OfferParams, segment_buyers, segment_offers
from training.storefront.segment_profiles import ItemInfo, describe_segments
from training.storefront.segments import SegmentParams, assign_segments
from training.storefront.similar import SimilarSource, similar_items
from training.storefront.trending import TrendingParams, trending

log = logging.getLogger(__name__)


class StoreParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segments: SegmentParams = Field(default_factory=SegmentParams)
    offers: OfferParams = Field(default_factory=OfferParams)
    trending: TrendingParams = Field(default_factory=TrendingParams)
    similar_source: SimilarSource = "cosine"
    similar_k: int = Field(50, ge=1, description="similar items kept per item (the API serves up to 50)")
    new_arrival_days: float = Field(30.0, gt=0, description="first sold this recently = new arrival")
    new_arrivals_per_customer: int = Field(10, ge=1)
    new_arrivals_max: int = Field(100, ge=1)


def catalog_by_item(catalog: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
    """Catalog rows in item-row order (missing items as empty rows)."""
    cat = catalog.assign(item_id=catalog["item_id"].astype(str)).drop_duplicates("item_id")
    return cat.set_index("item_id").reindex(item_ids)


def deliverable_mask(item_ids: np.ndarray, catalog: pd.DataFrame) -> np.ndarray:
    """False only for items the catalog marks unavailable; dates are decided per request."""
    available = catalog_by_item(catalog, item_ids)["available"]
    return available.astype("boolean").fillna(True).to_numpy(dtype=bool)


def build_storefront(
    purchases: pd.DataFrame,
    interactions: Interactions,
    history: Interactions,
    model: ALSRecommender,
    catalog: pd.DataFrame,
    params: StoreParams,
    assign: Callable[[np.ndarray, np.ndarray, SegmentParams], np.ndarray] = assign_segments,
) -> Storefront:
    """`assign` cuts the customers into segments (the Spark engine passes its k-means)."""
    customers, items = history.customers, history.items
    deliverable = deliverable_mask(items.ids, catalog)
    profiles = customer_profiles(purchases, customers)
    tiers, thresholds = loyalty_tiers(profiles)
    rfm = rfm_array(profiles)
    labels = assign(model.user_factors, rfm, params.segments)
    n_segments = int(labels.max()) + 1 if len(labels) else 0
    info = _item_info(items.ids, catalog)
    segments = describe_segments(
        labels,
        profiles,
        tiers,
        segment_buyers(labels, history.matrix, n_segments),
        info,
        customers.ids,
        priced=thresholds.priced,
    )
    sim_items, sim_scores = similar_items(params.similar_source, history.matrix, model, params.similar_k)
    sim_items, sim_scores = _compact(sim_items, sim_scores, deliverable)
    end = purchases["timestamp"].max()
    trend_items, trend_scores, trend_counts = _trending(purchases, history, labels, end, deliverable, params)
    new_rows = _new_arrivals(catalog, items.ids, end, params.new_arrival_days) & deliverable
    new_items, new_scores = _popular_among(history, new_rows, params.new_arrivals_max)
    cust_new, cust_new_scores = _new_for_customers(model, interactions, new_rows, params.new_arrivals_per_customer)
    log.info("storefront: %d segments, %d new arrivals", n_segments, int(new_rows.sum()))
    return Storefront(
        segment_of=labels.astype(np.int32),
        segments=segments,
        offers=segment_offers(labels, history.matrix, deliverable, params.offers),
        similar_items=sim_items,
        similar_scores=sim_scores,
        trending_items=trend_items,
        trending_scores=trend_scores,
        trending_counts=trend_counts,
        new_items=new_items,
        new_scores=new_scores,
        customer_new_items=cust_new,
        customer_new_scores=cust_new_scores,
        rfm=rfm,
        tier=tiers,
        thresholds=thresholds,
        meta={
            "similar_source": params.similar_source,
            "trending_window_days": params.trending.window_days,
            "new_arrival_days": params.new_arrival_days,
            "data_end": str(end),
        },
    )


def _item_info(item_ids: np.ndarray, catalog: pd.DataFrame) -> ItemInfo:
    cat = catalog_by_item(catalog, item_ids)
    titles = cat["title"].astype(object).where(cat["title"].notna(), pd.Series(item_ids, index=cat.index))
    categories = cat["category"].astype(object) if "category" in cat else pd.Series(None, index=cat.index)
    return ItemInfo(item_ids, titles.to_numpy(dtype=object), categories.where(categories.notna(), None).to_numpy())


def _compact(items: np.ndarray, scores: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop entries whose item is not in `keep`, shifting the rest left (stable)."""
    ok = (items >= 0) & keep[np.maximum(items, 0)]
    order = np.argsort(~ok, axis=1, kind="stable")
    items = np.where(np.take_along_axis(ok, order, axis=1), np.take_along_axis(items, order, axis=1), -1)
    scores = np.where(items >= 0, np.take_along_axis(scores, order, axis=1), 0.0)
    return items.astype(np.int32), scores.astype(np.float32)


def _trending(
    purchases: pd.DataFrame,
    history: Interactions,
    labels: np.ndarray,
    end: pd.Timestamp,
    deliverable: np.ndarray,
    params: StoreParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    occ = purchase_occasions(purchases)
    rows = history.customers.rows(occ["customer_id"].astype(str).to_numpy())
    cols = history.items.rows(occ["item_id"].astype(str).to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    days = day_number(occ["timestamp"])[keep]
    end_day = float(day_number(pd.Series([end]))[0])
    return trending(rows[keep], cols[keep], days, labels, history.matrix.shape, end_day, deliverable, params.trending)


def _new_arrivals(catalog: pd.DataFrame, item_ids: np.ndarray, end: pd.Timestamp, days: float) -> np.ndarray:
    if "first_sold" not in catalog:
        return np.zeros(len(item_ids), dtype=bool)
    first_sold = pd.to_datetime(catalog_by_item(catalog, item_ids)["first_sold"], errors="coerce")
    return (first_sold > end - pd.Timedelta(days=days)).fillna(False).to_numpy(dtype=bool)


def _popular_among(history: Interactions, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Items of `rows` by distinct buyers, best first."""
    bought = history.matrix.copy()
    bought.data = np.ones_like(bought.data)
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    candidates = np.flatnonzero(rows)
    best = candidates[np.argsort(-buyers[candidates], kind="stable")][:k]
    return best.astype(np.int32), buyers[best].astype(np.float32)


def _new_for_customers(
    model: ALSRecommender, interactions: Interactions, new_rows: np.ndarray, k: int, batch_size: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's best-fitting new arrivals they have not bought (by the model's scores)."""
    n = interactions.shape[0]
    ids = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    new = np.flatnonzero(new_rows)
    if len(new) == 0 or n == 0:
        return ids, scores
    # Only the new arrivals are scored (every other item is blocked anyway): a few percent of
    # the catalog instead of all of it, for every customer.
    new_vectors = model.item_factors[new].T
    matrix = interactions.matrix.tocsr()
    for start in range(0, n, batch_size):
        rows = slice(start, min(start + batch_size, n))
        batch = model.user_factors[rows] @ new_vectors
        batch[bought_mask(matrix[rows], np.broadcast_to(new, batch.shape))] = -np.inf
        pos, values = top_k(batch, k)
        ids[rows] = np.where(pos >= 0, new[np.maximum(pos, 0)], -1)
        scores[rows] = np.where(pos >= 0, values, 0.0)
    return ids, scores
