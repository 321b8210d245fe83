"""Live state for a share of the customers before a serving run (`benchmarks.serving --live-share`).

Each chosen customer gets what a shop's active customers have: a recent event (a `view` of
their top item, through `POST /events`) and capped items (their answer fetched as often as
the impression cap, `cap_impressions`, so its items are at the cap). Done through a server of
its own, stopped before the measured ones start, so those start fresh.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Protocol

from benchmarks.harness import free_port

API_KEY = "bench-key-0123456789"
CAP_IMPRESSIONS = 5  # the service's default `cap_impressions`
EVENTS_PER_POST = 500


class _Server(Protocol):
    url: str


def redis_cpu_s(url: str) -> float:
    """Redis' own CPU seconds so far (INFO cpu: user + system)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        info: dict[str, Any] = client.info("cpu")  # type: ignore[assignment]
    finally:
        client.close()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def give_live_state(
    customers: list[str], redis_url: str, start: Callable[[int, dict[str, str]], AbstractContextManager[_Server]]
) -> None:

    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "MICROOFFERS_API_KEY": API_KEY,
        "MICROOFFERS_WRITE_RATE_PER_S": "1000000",
        "MICROOFFERS_WRITE_BURST": "1000000",
    }
    port = free_port()
    began = time.perf_counter()
    with start(port, env) as srv:
        with ThreadPoolExecutor(8) as pool:
            tops = list(pool.map(lambda c: _top_item(srv.url, c), customers))
            events = [{"customer_id": c, "item_id": t, "type": "view"} for c, t in zip(customers, tops) if t]
            for i in range(0, len(events), EVENTS_PER_POST):
                _post(srv.url + "/events", {"events": events[i : i + EVENTS_PER_POST]})
            for _ in range(CAP_IMPRESSIONS):
                list(pool.map(lambda c: _get(srv.url + f"/recommend/{c}"), customers))
        time.sleep(0.5)  # the last impressions are written with the server's next flush
    print(f"live state for {len(customers)} customers in {time.perf_counter() - began:.1f}s")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _top_item(base: str, customer: str) -> str | None:
    items = _get(f"{base}/recommend/{customer}?k=1")["items"]
    return items[0]["item_id"] if items else None


def _post(url: str, body: object) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        if answer.status != 202:
            raise RuntimeError(f"POST /events answered {answer.status}")
