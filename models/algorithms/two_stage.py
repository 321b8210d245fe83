"""A two-stage recommender: candidates from several generators, ordered by a learned ranker.

The design of production systems and of the winning entries of retail recommendation
competitions. Stage one (`models.algorithms.candidate_generators`) proposes a few hundred items per
customer, each generator for its own reason (rhythm, frequency, taste, co-purchase, what trends
in their segment); stage two, LightGBM's LambdaRank, orders them from the features of
`models.algorithms.ranking_features`, each generator's score and rank among them.

Training windows, carved from the data `fit` is given (never from a later window): the last
`label_days` are the ranker's **label window**, and `label_windows - 1` windows of as many
days before it more (more customers to learn from); for each, the generators and features are
computed from the occasions strictly before it (`RankerWindows.check` refuses anything else).
Data without a shared time axis (MovieLens, where few users rate anything in the last weeks)
takes each customer's latest occasions as labels instead (`label_split`, `check_tails`).
Two rankers learn there: one on every candidate with "bought in the window" as the label (the *all*
question), one on the candidates the customer never bought with "bought for the first time"
(*discovery*). The generators are then refitted on all the data, and `score` ranks with them.

One score vector answers both questions, as the repurchase blend does: the *all* ranker's
values say which positions of a customer's list go to an item they bought before and which to
a new one; the new items fill theirs in the order of the *discovery* ranker (its values are the
*all* ranker's for new items, reassigned by rank). So the top unbought items are exactly the
discovery ranker's, and one list mixes both on one scale. Items no generator proposed score
below every candidate, by popularity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.algorithms.candidate_generators import GENERATORS, GeneratorParams, Generators, Snapshot
from models.algorithms.params import ModelParams
from models.algorithms.ranking_features import (
    FEATURES,
    CandidateTable,
    candidate_table,
    customer_features,
    item_features,
)
from models.algorithms.timed import PurchaseLog, TimeAwareRecommender

if TYPE_CHECKING:  # LightGBM is imported when a ranker is trained or loaded: serving never needs it
    import lightgbm as lgb

TASKS = ("all", "discovery")
_BATCH = 1024


class TwoStageParams(ModelParams):
    per_generator: int = Field(default=40, ge=1, le=1000)  # candidates each generator proposes per customer
    label_days: float = Field(default=28.0, gt=0.0)  # the ranker's label window: the data's last days
    label_windows: int = Field(default=2, ge=1, le=12)  # consecutive label windows the ranker learns from
    # "window": labels from the last days; "tail": each customer's latest `label_fraction` of
    # occasions (data without a shared time axis, MovieLens); "auto": `window_or_tail`.
    label_split: Literal["auto", "window", "tail"] = "auto"
    label_fraction: float = Field(default=0.1, gt=0.0, lt=1.0)
    half_life_days: float = Field(default=30.0, gt=0.0)  # decay of the matrix EASE, ALS and kNN learn from
    frequency_half_life_days: float = Field(default=60.0, gt=0.0)
    recent_half_life_days: float = Field(default=14.0, gt=0.0)
    ease_l2: float = Field(default=300.0, gt=0.0)
    als_factors: int = Field(default=64, ge=1, le=1024)
    neighbours: int = Field(default=50, ge=1)
    segments: int = Field(default=12, ge=1)
    trend_window_days: float = Field(default=28.0, gt=0.0)
    trees: int = Field(default=300, ge=1, le=5000)  # at most; early stopping on held-out customers
    learning_rate: float = Field(default=0.05, gt=0.0, le=1.0)
    leaves: int = Field(default=31, ge=2)
    min_leaf: int = Field(default=50, ge=1)
    max_train_customers: int = Field(default=3000, ge=2)  # a seeded sample of the label window's customers
    seed: int = 7

    def generators(self) -> GeneratorParams:
        return GeneratorParams(
            self.half_life_days,
            self.frequency_half_life_days,
            self.recent_half_life_days,
            self.ease_l2,
            self.als_factors,
            self.neighbours,
            self.segments,
            self.trend_window_days,
            self.seed,
        )


class LeakageError(ValueError):
    """The ranker would learn from what it is asked to predict."""


@dataclass(frozen=True)
class RankerWindows:
    """Day numbers: the last occasion the features read, and the label window [start, end]."""

    features_end: float
    label_start: float
    label_end: float

    def check(self, cut: float) -> None:
        """Features strictly before the labels, labels no later than `cut` (the end of the data
        the model was given: during selection, before the validation window)."""
        if not self.features_end < self.label_start:
            raise LeakageError(f"features read day {self.features_end}, not before the labels' {self.label_start}")
        if not self.label_start <= self.label_end <= cut:
            raise LeakageError(f"label window {self.label_start}..{self.label_end} is not before the cut {cut}")

    def as_dict(self) -> dict[str, float]:
        return {"features_end": self.features_end, "label_start": self.label_start, "label_end": self.label_end}


@dataclass(frozen=True)
class StageOne:
    """The generators fitted on one snapshot, and the item and customer features read from it."""

    gens: Generators
    items: np.ndarray
    customers: np.ndarray

    @classmethod
    def of(cls, gens: Generators) -> StageOne:
        return cls(gens, item_features(gens.snap), customer_features(gens.snap))


class TwoStageRecommender(TimeAwareRecommender):
    name = "two_stage"
    Params = TwoStageParams
    params: TwoStageParams

    def _fit(self, user_items: sp.csr_matrix) -> None:
        times = self._require_times(user_items.shape)
        if times.log is None:
            raise ValueError(f"{self.name} needs the purchase log (`PurchaseTimes.log`) to carve its label window")
        log, p, shape = times.log, self.params, user_items.shape
        self.label_windows = label_windows(log, times.today, p.label_days, p.label_windows)
        for w in self.label_windows:
            w.check(times.today)
        self.windows = self.label_windows[0]
        self.label_split: str = p.label_split if p.label_split != "auto" else window_or_tail(log, self.windows)
        examples = []
        if self.label_split == "tail":
            inside = customer_tails(log, p.label_fraction)
            check_tails(log, inside, times.today)
            self.label_windows = []
            labels = _bought(log, inside, shape)
            past = PurchaseLog(log.customer_rows[~inside], log.item_rows[~inside], log.days[~inside], log.item_price)
            examples.append((self._stage_one(past, times.today, shape), labels))
        for w in self.label_windows:
            past = log.before(w.label_start)
            inside = (log.days >= w.label_start) & (log.days <= w.label_end)
            if len(past.days) and inside.any():
                examples.append((self._stage_one(past, w.label_start, shape), _bought(log, inside, shape)))
        self.rankers = self._train_rankers(examples)
        self.stage = self._stage_one(log, times.today, shape)

    def _stage_one(self, log: PurchaseLog, today: float, shape: tuple[int, int]) -> StageOne:
        snap = Snapshot.of(log, today, shape, self.params.frequency_half_life_days)
        return StageOne.of(Generators(self.params.generators()).fit(snap))

    def _tables(self, stage: StageOne, rows: np.ndarray, exclude_owned: bool) -> CandidateTable:
        return candidate_table(stage.gens, rows, self.params.per_generator, stage.items, stage.customers, exclude_owned)

    def _train_rankers(self, examples: list[tuple[StageOne, sp.csr_matrix]]) -> dict[str, lgb.Booster]:
        """One ranker per task on the candidates of every label window's customers (each
        customer of each window one query group)."""
        p = self.params
        rng = np.random.default_rng(p.seed)
        chosen = []
        for stage, labels in examples:
            known = np.diff(stage.gens.snap.stats.occasions.indptr) > 0
            rows = np.flatnonzero(known & (np.diff(labels.indptr) > 0))
            if len(rows) > p.max_train_customers:
                rows = np.sort(rng.choice(rows, p.max_train_customers, replace=False))
            chosen.append(rows)
        rankers = {}
        for task in TASKS:
            xs, ys, groups, offset = [], [], [], 0
            for (stage, labels), rows in zip(examples, chosen, strict=True):
                for s in range(0, len(rows), _BATCH):
                    table = self._tables(stage, rows[s : s + _BATCH], task == "discovery")
                    xs.append(table.features)
                    ys.append(np.asarray(labels[rows[s + table.local], table.items]).ravel() > 0)
                    groups.append(table.local + offset + s)
                offset += len(rows)
            if not xs:
                continue
            booster = fit_ranker(np.vstack(xs), np.concatenate(ys).astype(np.float32), np.concatenate(groups), p, rng)
            if booster is not None:
                rankers[task] = booster
        return rankers

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        rows = np.asarray(user_rows, dtype=np.int64)
        buyers = self.stage.items[:, 0]
        base = (0.5 * buyers / max(float(buyers.max()), 1.0)).astype(np.float32)
        out = np.tile(base, (len(rows), 1))
        table = self._tables(self.stage, rows, exclude_owned=False)
        value = 1.0 + _sigmoid(self._predict("all", table))
        out[table.local, table.items] = value
        if "discovery" in self.rankers:
            new = self._tables(self.stage, rows, exclude_owned=True)
            fresh = table.column("bought_before") == 0
            out[table.local[fresh], table.items[fresh]] = base[table.items[fresh]]
            _fill_new_items(out, table.local[fresh], value[fresh], new, self._predict("discovery", new))
        return out

    def _predict(self, task: str, table: CandidateTable) -> np.ndarray:
        if task in self.rankers and len(table.local):
            return np.asarray(self.rankers[task].predict(table.features, num_threads=1), dtype=np.float64)
        # No ranker learnt (too little data): reciprocal-rank fusion of the generators.
        ranks = [table.column(f"{g}_rank") for g in GENERATORS]
        return np.nansum([1.0 / (10.0 + r) for r in ranks], axis=0)

    def summary(self) -> dict[str, object]:
        """What the manifest and the reports say about it: its windows and what it learnt from."""
        return {
            "label_split": self.label_split,
            "windows": self.windows.as_dict() if self.label_split == "window" else None,
            "label_windows": [w.as_dict() for w in self.label_windows],
            "feature_importance": self.feature_importance(),
        }

    def feature_importance(self) -> dict[str, dict[str, float]]:
        """Per task, each feature's share of the ranker's total gain (what the report shows)."""
        out = {}
        for task, booster in self.rankers.items():
            gain = booster.feature_importance(importance_type="gain")
            total = float(gain.sum()) or 1.0
            out[task] = {name: round(float(g) / total, 4) for name, g in zip(FEATURES, gain, strict=True)}
        return out

    def _state(self) -> dict[str, np.ndarray]:
        snap = self.stage.gens.snap
        state: dict[str, np.ndarray] = {
            "log_customers": snap.log.customer_rows,
            "log_items": snap.log.item_rows,
            "log_days": snap.log.days,
            "log_price": snap.log.item_price,
            "today": np.asarray(snap.today),
            "shape": np.asarray(snap.shape),
            "windows": np.asarray(
                json.dumps(
                    {
                        "split": self.label_split,
                        "latest": self.windows.as_dict(),
                        "windows": [w.as_dict() for w in self.label_windows],
                    }
                )
            ),
            "rankers": np.asarray(json.dumps({t: b.model_to_string() for t, b in self.rankers.items()})),
            "segment_of": self.stage.gens.segment_of,
        }
        for name, model in self.stage.gens.models.items():
            state.update({f"g_{name}__{k}": v for k, v in model.state().items()})
        return state

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        log = PurchaseLog(state["log_customers"], state["log_items"], state["log_days"], state["log_price"])
        shape = (int(state["shape"][0]), int(state["shape"][1]))
        snap = Snapshot.of(log, float(state["today"]), shape, self.params.frequency_half_life_days)
        models = {}
        for name in GENERATORS:
            prefix = f"g_{name}__"
            part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            if part:
                models[name] = part
        gens = Generators(self.params.generators()).restore(snap, models, state["segment_of"])
        self.stage = StageOne.of(gens)
        windows = json.loads(str(state["windows"]))
        self.label_windows = [RankerWindows(**w) for w in windows["windows"]]
        self.windows, self.label_split = RankerWindows(**windows["latest"]), str(windows["split"])
        import lightgbm as lgb

        self.rankers = {t: lgb.Booster(model_str=s) for t, s in json.loads(str(state["rankers"])).items()}


def label_windows(log: PurchaseLog, today: float, days: float, count: int) -> list[RankerWindows]:
    """`count` consecutive label windows of `days` each, the latest first, ending with the data
    (each starts at midnight, as a temporal split cuts; an empty one ends where it starts);
    each one's features end before it."""
    out = []
    end = float(log.days.max()) if len(log.days) else today
    start = float(np.floor(today)) - (days - 1.0)
    for _ in range(count):
        before = log.days[log.days < start]
        out.append(RankerWindows(float(before.max()) if len(before) else start - 1.0, start, max(end, start)))
        end = float(before.max()) if len(before) else start - 1.0
        start -= days
    return out


MIN_WINDOW_SHARE = 0.15  # of the customers known before it, for a label window to teach enough


def window_or_tail(log: PurchaseLog, window: RankerWindows) -> Literal["window", "tail"]:
    """ "window" when at least `MIN_WINDOW_SHARE` of the customers with history before the
    latest label window buy in it (a shop: about a third do in four weeks), else "tail"
    (MovieLens: a few percent of its users rate anything in its last four weeks)."""
    known = np.unique(log.customer_rows[log.days < window.label_start])
    active = np.unique(log.customer_rows[log.days >= window.label_start])
    return "window" if len(np.intersect1d(known, active)) >= MIN_WINDOW_SHARE * max(len(known), 1) else "tail"


def customer_tails(log: PurchaseLog, fraction: float) -> np.ndarray:
    """Mask of each customer's latest ceil(`fraction` x occasions) occasions in time (none for a
    customer with a single one), as `training.evaluation.split.UserTailSplit` holds out."""
    order = np.lexsort((np.arange(len(log.days)), log.days, log.customer_rows))
    customers = log.customer_rows[order]
    sizes = np.bincount(customers)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(len(order)) - first[customers]
    size = sizes[customers]
    held = np.where(size > 1, np.ceil(fraction * size), 0)
    mask = np.zeros(len(order), dtype=bool)
    mask[order] = position >= size - held
    return mask


def check_tails(log: PurchaseLog, labels: np.ndarray, cut: float) -> None:
    """Per customer, no feature occasion after their first label; no label after `cut`."""
    n = int(log.customer_rows.max()) + 1 if len(log.customer_rows) else 0
    last_feature, first_label = np.full(n, -np.inf), np.full(n, np.inf)
    np.maximum.at(last_feature, log.customer_rows[~labels], log.days[~labels])
    np.minimum.at(first_label, log.customer_rows[labels], log.days[labels])
    late = np.flatnonzero(last_feature > first_label)
    if len(late):
        raise LeakageError(f"customer row {late[0]}: features read day {last_feature[late[0]]}, after a label")
    if labels.any() and float(log.days[labels].max()) > cut:
        raise LeakageError(f"labels reach day {float(log.days[labels].max())}, after the cut {cut}")


def fit_ranker(
    x: np.ndarray, y: np.ndarray, group_of: np.ndarray, p: TwoStageParams, rng: np.random.Generator
) -> lgb.Booster | None:
    """LambdaRank over query groups (one per customer, rows contiguous by `group_of`); a fifth of
    the customers, drawn by `rng`, held out for early stopping. None when fewer than two
    customers have a positive among their candidates (nothing to rank against)."""
    import lightgbm as lgb

    groups, starts, sizes = np.unique(group_of, return_index=True, return_counts=True)
    positive = np.add.reduceat(y, starts) > 0 if len(starts) else np.zeros(0, dtype=bool)
    useful = groups[positive]
    if len(useful) < 2:
        return None
    held = rng.random(len(useful)) < 0.2 if len(useful) >= 10 else np.zeros(len(useful), dtype=bool)
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "ndcg_eval_at": [10],
        "lambdarank_truncation_level": 20,
        "learning_rate": p.learning_rate,
        "num_leaves": p.leaves,
        "min_data_in_leaf": p.min_leaf,
        "feature_fraction": 0.8,
        "seed": p.seed,
        "deterministic": True,
        "force_row_wise": True,
        "max_bin": 63,
        "num_threads": 1,  # on a shared machine two OpenMP threads ran 4x slower than one (measured)
        "verbose": -1,
    }

    def dataset(chosen: np.ndarray, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        keep = np.isin(group_of, chosen)
        _, counts = np.unique(group_of[keep], return_counts=True)
        return lgb.Dataset(
            x[keep], y[keep], group=counts, feature_name=list(FEATURES), reference=reference, free_raw_data=False
        )

    train = dataset(useful[~held])
    if not held.any():
        return lgb.train(params, train, num_boost_round=min(p.trees, 100))
    valid = dataset(useful[held], train)
    stop = lgb.early_stopping(30, verbose=False)
    return lgb.train(params, train, num_boost_round=p.trees, valid_sets=[valid], callbacks=[stop])


def _bought(log: PurchaseLog, chosen: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Customer x item matrix, non-zero where one of the `chosen` occasions bought it (labels)."""
    rows, cols = log.customer_rows[chosen], log.item_rows[chosen]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(s, -30.0, 30.0)))).astype(np.float32)


def _fill_new_items(
    out: np.ndarray, slot_rows: np.ndarray, slot_values: np.ndarray, new: CandidateTable, order: np.ndarray
) -> None:
    """Each customer's new items in the discovery ranker's `order`, given the values the *all*
    ranker gave new items (best first; more values, each below the last, when the discovery
    candidates outnumber them). The caller has reset the new items the *all* table scored."""
    for row in np.unique(new.local):
        slots = np.sort(slot_values[slot_rows == row])[::-1]
        mine = np.flatnonzero(new.local == row)
        ranked = new.items[mine[np.argsort(-order[mine], kind="stable")]]
        low = float(slots[-1]) if len(slots) else 1.0
        extra = np.linspace(low, 1.0, max(len(ranked) - len(slots), 0) + 2)[1:-1]
        values = np.concatenate([slots[: len(ranked)], extra]).astype(np.float32)
        out[row, ranked] = values
