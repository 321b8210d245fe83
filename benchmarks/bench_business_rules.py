"""What business rules cost an answer: `service.core.recommend.choose` (the pure part of every
`/recommend` answer, routes and hot path alike) per customer, with no rules (the path every
answer takes while no rule is active) and with a set of active rules (pins, blocks, boosts,
buries on items and categories, a diversity cap).

    python -m benchmarks.bench_business_rules --artifacts artifacts [-n 2000] [--rules 20]

The no-rules figure runs on a tree without business rules too (`PYTHONPATH=<other checkout>`),
so the two can be compared on one machine at one time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.contract.artifact import load_artifact
from service.core.recommend import choose
from service.live.state import LiveSnapshot
from service.storage.stores import EmbeddedStore

ROUNDS = 15


def _per_call_us(call: Callable[[Any], object], inputs: list[Any]) -> float:
    """The best round's mean time per call, in microseconds (the least disturbed by other work
    on a shared machine)."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for x in inputs:
            call(x)
        rounds.append((time.perf_counter() - start) / len(inputs) * 1e6)
    return float(min(rounds))


def _active_rules(popular: list[str], n: int) -> Any:
    """`n` rules active now for everyone, or None on a tree without business rules."""
    try:
        from models.rules.business import RuleSpec, list_rules
    except ImportError:
        return None
    kinds = ["pin", "block", "boost", "bury"]
    specs = [RuleSpec(kind=kinds[i % 4], item_id=popular[i]) for i in range(n - 2)]  # type: ignore[arg-type]
    specs += [RuleSpec(kind="bury", category="home"), RuleSpec(kind="diversity", max_per_category=3)]
    return list_rules(specs, None, datetime.now(UTC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--rules", type=int, default=20)
    args = parser.parse_args()
    artifact = load_artifact(args.artifacts)
    store = EmbeddedStore(artifact)
    rng = np.random.default_rng(0)
    customers = [str(c) for c in rng.choice(artifact.customers.ids, size=args.n)]

    async def inputs() -> tuple[list[Any], Any, list[Any]]:
        version = await store.active_version()
        assert version is not None
        offers = [await store.customer_offers(version, c) for c in customers]
        return offers, await store.catalog(version), await store.popular_offers(version)

    offers, catalog, popular = asyncio.run(inputs())
    snapshot = LiveSnapshot()
    plain = _per_call_us(lambda o: choose(o, popular, snapshot, catalog, 10, False, None, "c", 0), offers)
    print("| rules | choose() µs per answer (k=10) |\n|---|---|")
    print(f"| none | {plain:.1f} |")
    active = _active_rules([o.item_id for o in popular], args.rules)
    if active is not None:
        ruled = _per_call_us(
            lambda o: choose(o, popular, snapshot, catalog, 10, False, None, "c", 0, business=active), offers
        )
        print(f"| {args.rules} active | {ruled:.1f} |")


if __name__ == "__main__":
    main()
