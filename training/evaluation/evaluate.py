"""Offline evaluation on a time split: fit on the past, rank, compare with what was bought next.

Two tasks, both a shop's real questions:

- **all**: truth = every distinct item the customer bought in the test window, repeats
  included; recommendations may contain items already bought (`include_purchased=true`).
- **discovery**: truth = test-window items the customer had never bought; recommendations
  exclude bought items (the `/recommend` default).

Customers seen in both the training part and the test window are evaluated (for discovery:
those who bought something new to them). Items first sold in the test window are left out of
the truth: no model trained before could know them, so they would only lower every row alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.algorithms.base import Recommender, top_k, top_k_wide
from models.algorithms.blend import Scores, score_rows
from models.algorithms.registry import model_type
from models.evaluation.metrics import calc_metrics, per_customer_metrics, popularity_ranks
from training.evaluation.split import Split
from training.selection.candidates import ModelSpec, TrainingData

TASKS = ("all", "discovery")
SEGMENT_K = 10  # the cut-off of the per-customer figures (segments, intervals): the selection metric's


def applies(spec: ModelSpec, task: str) -> bool:
    """Buy-again models (`Recommender.buy_again`) answer *all* only; the others rank every item."""
    return task == "all" or not model_type(spec.family).cls.buy_again


@dataclass
class EvalData:
    """A split ready to score: training data, and per task the evaluated customers' truth."""

    data: TrainingData
    split: Split
    rows: np.ndarray  # matrix rows of every evaluated customer (either task)
    positions: dict[str, np.ndarray]  # per task: indices into `rows`
    truth: dict[str, sp.csr_matrix]  # per task: one row per evaluated customer, in `positions` order
    item_rank: np.ndarray  # popularity rank of every item in the training part

    @classmethod
    def from_split(cls, split: Split, tasks: tuple[str, ...] = TASKS, max_customers: int | None = None) -> EvalData:
        """`max_customers` evaluates a seeded random sample of at most that many customers per
        task (None: all of them)."""
        data = TrainingData.from_purchases(split.train)
        seen = data.history.matrix.copy()
        seen.data[:] = 1.0
        rows = data.history.customers.rows(split.test["customer_id"].to_numpy())
        cols = data.history.items.rows(split.test["item_id"].to_numpy())
        keep = (rows >= 0) & (cols >= 0)
        bought = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=seen.shape)
        bought.data[:] = 1.0
        new = (bought - bought.multiply(seen)).tocsr()
        new.eliminate_zeros()
        by_task = {"all": bought.tocsr(), "discovery": new}
        evaluated = {t: _sample(np.flatnonzero(np.diff(by_task[t].indptr)), max_customers) for t in tasks}
        all_rows = np.unique(np.concatenate(list(evaluated.values())))
        return cls(
            data=data,
            split=split,
            rows=all_rows,
            positions={t: np.searchsorted(all_rows, evaluated[t]) for t in tasks},
            truth={t: by_task[t][evaluated[t]] for t in tasks},
            item_rank=popularity_ranks(np.asarray(seen.sum(axis=0)).ravel()),
        )

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.truth)

    def customers(self, task: str) -> int:
        return int(self.truth[task].shape[0])

    def history_sizes(self, task: str) -> np.ndarray:
        """Distinct items each evaluated customer bought before the window (for segments)."""
        h = self.data.history.matrix
        return np.diff(h.indptr)[self.rows[self.positions[task]]]


def _sample(rows: np.ndarray, at_most: int | None, seed: int = 7) -> np.ndarray:
    if at_most is None or len(rows) <= at_most:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, at_most, replace=False))


def model_scores(model: Recommender, ev: EvalData, spec: ModelSpec, batch: int = 2048) -> np.ndarray:
    """Dense scores (evaluated customers x items) of a fitted model. A model that scores every
    customer alike gives one row seen through a broadcast view (no memory per customer)."""
    matrix = ev.data.matrix(spec.weights).matrix
    if model.same_for_everyone and len(ev.rows):
        return np.broadcast_to(model.score(ev.rows[:1], matrix[ev.rows[:1]])[0], (len(ev.rows), matrix.shape[1]))
    parts = [model.score(ev.rows[s : s + batch], matrix[ev.rows[s : s + batch]]) for s in range(0, len(ev.rows), batch)]
    return np.vstack(parts) if parts else np.zeros((0, matrix.shape[1]), dtype=np.float32)


def recommendations(scores: Scores, ev: EvalData, task: str, k: int, batch: int = 1024) -> np.ndarray:
    """Top-k item rows per evaluated customer of `task` (discovery: bought items excluded),
    `batch` customers at a time (so only one batch of scores is ever dense)."""
    positions = ev.positions[task]
    ids = np.full((len(positions), k), -1, dtype=np.int64)
    if task != "discovery" and len(positions) and _same_for_everyone(scores):
        ids[:] = top_k(score_rows(scores, positions[:1]), k)[0]  # identical rows, identical answers
        return ids
    for start in range(0, len(positions), batch):
        sub = score_rows(scores, positions[start : start + batch])
        if task == "discovery":
            seen = ev.data.history.matrix[ev.rows[positions[start : start + batch]]].tocoo()
            sub[seen.row, seen.col] = -np.inf
        ids[start : start + batch] = top_k_wide(sub, k)[0]
    return ids


def _same_for_everyone(scores: Scores) -> bool:
    """A broadcast view of one row (see `model_scores`)."""
    return isinstance(scores, np.ndarray) and scores.ndim == 2 and scores.strides[0] == 0


def task_metrics(scores: Scores, ev: EvalData, task: str, ks: list[int]) -> dict[str, float]:
    return calc_metrics(recommendations(scores, ev, task, max(ks)), ev.truth[task], ks, ev.item_rank)


def segment_ndcg(scores: Scores, ev: EvalData, task: str, k: int = 10) -> dict[str, float]:
    """NDCG@k by customer activity (terciles of distinct items bought before the window)."""
    values = per_customer_metrics(recommendations(scores, ev, task, k), ev.truth[task], [k], ev.item_rank)[f"ndcg@{k}"]
    return by_activity(values, ev.history_sizes(task))


def by_activity(values: np.ndarray, sizes: np.ndarray) -> dict[str, float]:
    """Mean of per-customer `values` per tercile of `sizes` (distinct items bought before)."""
    if len(sizes) < 3:
        return {}
    low, high = np.quantile(sizes, [1 / 3, 2 / 3])
    groups = {
        f"light (<= {low:.0f} items)": sizes <= low,
        f"medium ({low:.0f}-{high:.0f})": (sizes > low) & (sizes <= high),
        f"heavy (> {high:.0f})": sizes > high,
    }
    return {name: float(values[mask].mean()) for name, mask in groups.items() if mask.any()}


Table = dict[str, dict[str, dict[str, float]]]  # task -> model name -> metric or segment -> value
PER_CUSTOMER = f"ndcg@{SEGMENT_K}"  # what confidence intervals and paired differences are computed on


@dataclass
class Evaluation:
    """Every spec's figures on one split: mean metrics, NDCG@10 by customer activity, and NDCG@10
    of each evaluated customer (in `EvalData.positions` order, the same for every model, so two
    models can be compared customer by customer)."""

    metrics: Table
    segments: Table
    per_customer: dict[str, dict[str, np.ndarray]]  # task -> model name -> values


def evaluate_models(specs: list[ModelSpec], ev: EvalData, ks: list[int]) -> Evaluation:
    """Fit and score every spec that applies to each task, top-k once per (spec, task)."""
    out = Evaluation({t: {} for t in ev.tasks}, {t: {} for t in ev.tasks}, {t: {} for t in ev.tasks})
    cut = max([*ks, SEGMENT_K])
    for spec in specs:
        tasks = [t for t in ev.tasks if applies(spec, t)]
        if not tasks:
            continue
        scores = model_scores(ev.data.fit(spec), ev, spec)
        for task in tasks:
            recos = recommendations(scores, ev, task, cut)
            out.metrics[task][spec.name] = calc_metrics(recos, ev.truth[task], ks, ev.item_rank)
            values = per_customer_metrics(recos, ev.truth[task], [SEGMENT_K], ev.item_rank)[PER_CUSTOMER]
            out.per_customer[task][spec.name] = values
            out.segments[task][spec.name] = by_activity(values, ev.history_sizes(task))
    return out


def evaluate_specs(specs: list[ModelSpec], ev: EvalData, ks: list[int]) -> tuple[Table, Table]:
    """(metrics, NDCG@10 by customer segment), each `{task: {model name: {...}}}`, for every
    spec that applies to the task."""
    evaluation = evaluate_models(specs, ev, ks)
    return evaluation.metrics, evaluation.segments
