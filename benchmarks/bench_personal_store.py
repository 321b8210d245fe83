"""Latency of assembling personal stores and recommend answers in process (no HTTP), from the
embedded store and from Redis, on a trained artifact.

    python -m benchmarks.bench_personal_store --artifacts artifacts [--redis-url URL] [-n 1000]

With --redis-url the artifact is published there first (into the given database!).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import numpy as np
import redis

from models.contract.artifact import load_artifact
from service.core.personal_store import personal_store
from service.core.recommend import recommend
from service.storage.stores import EmbeddedStore, OfferStore, RedisStore
from training.publish import publish


async def timings(store: OfferStore, customers: list[str]) -> dict[str, np.ndarray]:
    version = await store.active_version()
    assert version is not None
    out: dict[str, list[float]] = {"personal-store": [], "recommend": []}
    for cid in customers:
        start = time.perf_counter()
        await personal_store(store, version, cid, 10)
        out["personal-store"].append(time.perf_counter() - start)
        start = time.perf_counter()
        await recommend(store, cid, 10, False)
        out["recommend"].append(time.perf_counter() - start)
    return {k: np.asarray(v) * 1000 for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--redis-url")
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    artifact = load_artifact(args.artifacts)
    rng = np.random.default_rng(0)
    customers = [str(c) for c in rng.choice(artifact.customers.ids, size=args.n)]
    if args.redis_url:
        publish(artifact, redis.Redis.from_url(args.redis_url))
    print("| store | call | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|")
    asyncio.run(run_all(artifact, customers, args.redis_url))


async def run_all(artifact, customers: list[str], redis_url: str | None) -> None:  # type: ignore[no-untyped-def]
    stores: dict[str, OfferStore] = {"embedded": EmbeddedStore(artifact)}
    if redis_url:
        stores["redis"] = RedisStore(redis_url)  # opened inside the loop that uses it
    for name, store in stores.items():
        await timings(store, customers[:50])  # warm caches (catalog)
        for call, ms in (await timings(store, customers)).items():
            p50, p95, p99 = np.percentile(ms, [50, 95, 99])
            print(f"| {name} | {call} | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
        await store.close()


if __name__ == "__main__":
    main()
