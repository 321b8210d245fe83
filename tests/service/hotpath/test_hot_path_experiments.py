"""Under a running experiment the hot path still answers as the routes do, byte for byte (the
recommendation id is deterministic per customer, version, variant, surface and day, so nothing
needs ignoring), answers only the customers whose variant serves the version it read (the routes
answer the hold-out), and records the same exposures the routes do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from models.contract import experiments as contract
from models.contract.artifact import Artifact
from models.contract.experiments import Experiment
from tests.service.hotpath.test_hot_path_parity import app_client
from tests.support.apps import RECOMMEND, STORE, answered
from tests.support.keys import AUTH
from tests.support.redis_reads import fields
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.redis


Tallies = dict[str, dict[bytes, bytes]]


def tallies(r: redis.Redis, e: Experiment) -> Tallies:
    return {key: fields(r, key) for key in contract.experiment_keys(e) if r.exists(key)}


def tallies_are(r: redis.Redis, e: Experiment, expected: Tallies, same: bool = True) -> Callable[[], bool]:
    return lambda: (tallies(r, e) == expected) == same


def test_same_bytes_and_same_exposures_under_an_experiment(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customers = [str(c) for c in artifact.customers.ids[20:44]]
    with app_client(artifacts, own_redis.url, hot_path=False) as routes, app_client(artifacts, own_redis.url) as hot:
        body = {"id": "hp", "variants": [{"name": "A"}, {"name": "B"}], "holdout": 0.25}
        assert hot.post("/experiments", json=body, headers=AUTH).status_code == 201
        e = Experiment.decode(published.get(contract.RUNNING_KEY))  # type: ignore[arg-type]
        for customer in customers:
            before = tallies(published, e)
            by_route = routes.get(f"/recommend/{customer}?k=5")
            assert wait_until(tallies_are(published, e, before, same=False), timeout=5)
            after_route = tallies(published, e)
            for key in after_route:  # back to the state before, then the hot path's turn
                published.delete(key)
            for key, value in before.items():
                published.hset(key, mapping=dict[Any, Any](value))
            by_hot = hot.get(f"/recommend/{customer}?k=5")
            assert by_hot.content == by_route.content, customer
            assert wait_until(tallies_are(published, e, after_route), timeout=5), customer
            assert hot.get(f"/personal-store/{customer}").content == routes.get(f"/personal-store/{customer}").content
        held_out = sum(e.assign(c).name == "holdout" for c in customers)
        assert 0 < held_out < len(customers)
        assert answered(hot, RECOMMEND, "hot_path") == len(customers) - held_out
        assert answered(hot, STORE, "hot_path") == len(customers) - held_out
