"""Cache miss: a customer with no precomputed list (new, or changed by events) is scored on the
fly: fold their purchases into a vector against the fixed item factors, find the top items,
drop what they bought. Latency per request, one request at a time, two ways: scoring every
item (dense), and the norm-bounded search of `models.algorithms.search.inner_product` (pruned), which must give
the same items.

    python -m benchmarks.cache_miss [--items 50000] [--factors 64] [--requests 3000]
    python -m benchmarks.cache_miss --artifacts .bench/artifacts-synthetic   # trained factors
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.base import top_k
from models.algorithms.search.inner_product import InnerProductIndex
from models.contract.artifact import load_artifact


def random_model(n_items: int, factors: int, seed: int) -> ALSRecommender:
    """Item vectors with lengths falling off like popularity (as trained ALS factors do)."""
    rng = np.random.default_rng(seed)
    lengths = 1.0 / (1.0 + np.arange(n_items)) ** 0.5
    items = (rng.standard_normal((n_items, factors)) * lengths[:, None] * 0.3).astype(np.float32)
    users = rng.standard_normal((10, factors)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.npz"
        params = ALSParams(factors=factors).model_dump_json()
        np.savez(path, user_factors=users, item_factors=items, params=np.asarray(params))
        return ALSRecommender().load(path)


def random_histories(n_items: int, n: int, seed: int) -> list[sp.csr_matrix]:
    """Purchase rows of 1..30 items, popular items more likely, a few repeats weighing more."""
    rng = np.random.default_rng(seed + 1)
    pop = 1.0 / (10.0 + np.arange(n_items))
    pop /= pop.sum()
    rows = []
    for size in rng.integers(1, 31, n):
        cols = np.unique(rng.choice(n_items, size, p=pop))
        weights = (1.0 + np.log1p(rng.integers(1, 4, len(cols)))).astype(np.float32)
        rows.append(sp.csr_matrix((weights, (np.zeros(len(cols), dtype=np.int64), cols)), shape=(1, n_items)))
    return rows


class DenseScorer:
    """Score every item, drop the bought and unofferable ones, top k (the straightforward way)."""

    def __init__(self, model: ALSRecommender, offerable: np.ndarray) -> None:
        self.model, self.blocked = model, ~offerable

    def __call__(self, history: sp.csr_matrix, k: int) -> np.ndarray:
        scores = self.model.score_vectors(self.model.fold_in(history))
        scores[:, self.blocked] = -np.inf
        scores[0, history.indices] = -np.inf
        return top_k(scores, k)[0][0]


class PrunedScorer:
    """Norm-bounded search over the offerable items (an index built once per model version):
    the top k + (number bought), then the bought ones dropped."""

    def __init__(self, model: ALSRecommender, offerable: np.ndarray) -> None:
        self.model, self.allowed = model, np.flatnonzero(offerable)
        self.index = InnerProductIndex(model.item_factors[self.allowed])

    def __call__(self, history: sp.csr_matrix, k: int) -> np.ndarray:
        rows, _ = self.index.search(self.model.fold_in(history), k + history.nnz, head=512)
        items = self.allowed[rows[0][rows[0] >= 0]]
        return items[~np.isin(items, history.indices)][:k]


def measure(scorer: DenseScorer | PrunedScorer, histories: list[sp.csr_matrix], k: int, warmup: int = 50) -> dict:
    """Latency of one cache miss at a time, after a warm-up."""
    for h in histories[:warmup]:
        scorer(h, k)
    times = []
    for h in histories[warmup:]:
        start = time.perf_counter()
        scorer(h, k)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1000
    return {
        "requests": len(ms),
        "mean_ms": round(float(ms.mean()), 3),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--artifacts", type=Path, help="use a trained artifact's factors instead of random ones")
    ap.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads for the scoring product (0 = library default); a serving process uses 1",
    )
    args = ap.parse_args(argv)
    model = load_artifact(args.artifacts).model if args.artifacts else random_model(args.items, args.factors, args.seed)
    n_items, factors = model.item_factors.shape
    histories = random_histories(n_items, args.requests + 50, args.seed)
    offerable = np.ones(n_items, dtype=bool)
    offerable[::50] = False  # 2% unavailable items
    source = f"trained factors from {args.artifacts}" if args.artifacts else "random factors"
    print(
        f"cache miss at {n_items} items x {factors} factors ({source}), k={args.k}, "
        f"BLAS threads {args.blas_threads or 'default'}:"
    )
    dense, pruned = DenseScorer(model, offerable), PrunedScorer(model, offerable)
    if not all(np.array_equal(dense(h, args.k), pruned(h, args.k)) for h in histories[:100]):
        raise SystemExit("pruned and dense scoring disagree")
    with threadpool_limits(args.blas_threads or None, "blas"):
        for name, scorer in (("dense", dense), ("pruned", pruned)):
            print(name, json.dumps(measure(scorer, histories, args.k)))


if __name__ == "__main__":
    main()
