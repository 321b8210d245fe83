"""How long planning a campaign and downloading its offers takes, through the real app (embedded
store, or Redis), for the largest segment and for a saved list of every trained customer; each
twice: `cold` (the embedded store builds each customer's documents on their first read) and
`warm`.

    python -m benchmarks.bench_campaigns --artifacts artifacts [--redis-url URL]

With --redis-url the artifact is published there first (into the given database!). Campaigns go
to a temporary file (embedded) or the hash `mo:campaigns` (Redis).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import redis
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from service.app import create_app
from service.settings import Settings
from training.publish import publish

KEY = "bench-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


def timed_download(client: TestClient, body: dict[str, object]) -> tuple[int, float]:
    made = client.post("/campaigns", json=body, headers=AUTH)
    assert made.status_code == 201, made.text
    start = time.perf_counter()
    resp = client.get(f"/campaigns/{made.json()['id']}/offers.csv", headers=AUTH)
    elapsed = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    return resp.content.count(b"\r\n") - 1, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    artifact = load_artifact(args.artifacts)
    assert artifact.storefront is not None, "retrain: this artifact has no segments"
    largest = int(np.bincount(artifact.storefront.segment_of).argmax())
    everyone = [str(c) for c in artifact.customers.ids[:10_000]]
    if args.redis_url:
        publish(artifact, redis.Redis.from_url(args.redis_url))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            artifacts=args.artifacts,
            redis_url=args.redis_url,
            api_key=KEY,
            access_log=False,
            campaigns_file=Path(tmp) / "campaigns.json",
            events_log=Path(tmp) / "events.jsonl",
            write_burst=1000,
        )
        store = "redis" if args.redis_url else "embedded"
        print("| store | audience | run | customers | rows | seconds | customers/s |\n|---|---|---|---|---|---|---|")
        with TestClient(create_app(settings)) as client:
            base: dict[str, object] = {"name": "bench", "channel": "email", "start": "2031-01-05"}
            members = int((artifact.storefront.segment_of == largest).sum())
            cases: list[tuple[str, int, dict[str, object]]] = [
                (f"segment {largest}", members, {**base, "segment_id": largest}),
                ("customer list", len(everyone), {**base, "customer_ids": everyone}),
            ]
            for label, audience, body in cases:
                for run in ("cold", "warm"):
                    rows, seconds = timed_download(client, body)
                    figures = f"{audience:,} | {rows:,} | {seconds:.2f} | {audience / seconds:,.0f}"
                    print(f"| {store} | {label} | {run} | {figures} |")


if __name__ == "__main__":
    main()
