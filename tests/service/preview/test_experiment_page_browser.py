"""The experiment results page in a real headless Chromium against a real uvicorn server over a
real Redis: two weeks of simulated traffic with a known lift (conversion 10% -> 16%) written as
the service writes it, then the page must say B wins, show the plot, and agree with
`GET /experiments/{id}`; tidy on a desktop and a phone."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser

from models.contract import experiments as contract
from models.contract.experiments import Experiment, Variant
from service.storage.experiments import Exposure, Outcome, exposure_commands, outcome_commands
from tests.service.preview.test_preview_browser import DESKTOP, PHONE, Tab
from tests.support.apps import settings_for
from tests.support.keys import AUTH, MARKETER
from tests.support.redis_server import RedisServer
from tests.support.servers import LiveServer
from tests.support.stores import publish_fresh

pytestmark = [pytest.mark.browser, pytest.mark.redis]

DAY_MS = 86_400_000
DAYS = 14
RATES = {"A": 0.10, "B": 0.16}


def simulate(r: redis.Redis, experiment: Experiment, customers: int = 6000, seed: int = 5) -> None:
    rng = random.Random(seed)
    start_day = experiment.started_ms // DAY_MS
    commands = []
    for n in range(customers):
        customer = f"sim{n}"
        variant = experiment.assign(customer).name
        day = start_day + rng.randrange(DAYS)
        commands += exposure_commands([Exposure(experiment.id, variant, customer, 4, day)])
        if rng.random() < 0.3:
            commands += outcome_commands([Outcome(experiment.id, variant, customer, "click", 0, day)])
        if rng.random() < RATES[variant]:
            commands += outcome_commands([Outcome(experiment.id, variant, customer, "purchase", 2000, day)])
    pipe = r.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    pipe.execute()


@pytest.fixture(scope="module")
def experiment_server(trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    redis_server = RedisServer(tmp_path_factory.mktemp("redis-experiments"))
    redis_server.start()
    publish_fresh(redis_server.url, trained_artifacts)
    r = redis.Redis.from_url(redis_server.url)
    started = (int(time.time() * 1000) // DAY_MS - DAYS + 1) * DAY_MS
    experiment = Experiment("ranker-b", "salt-7", (Variant("A"), Variant("B")), started, description="A against B")
    r.set(contract.RUNNING_KEY, experiment.encode())
    r.hset(contract.EXPERIMENTS_KEY, experiment.id, experiment.encode())
    simulate(r, experiment)
    server = LiveServer(settings_for(trained_artifacts, redis_server.url))
    server.start()
    yield server
    server.stop()
    r.close()
    redis_server.stop()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_results_page_says_which_wins_and_how_sure(
    browser: Browser, experiment_server: LiveServer, viewport: dict[str, int]
) -> None:
    api = httpx.get(f"{experiment_server.url}/experiments/ranker-b", headers=AUTH).json()
    tab = Tab(browser, experiment_server, viewport)  # type: ignore[arg-type]
    try:
        tab.page.goto("/preview")
        tab.page.get_by_role("link", name="Experiments").click()
        tab.page.get_by_role("link", name="ranker-b").click()
        assert tab.page.locator("h1").inner_text().startswith("Experiment ranker-b")
        verdict = tab.page.locator(".verdict[data-variant=B]").inner_text()
        assert "B converts better than the control" in verdict
        sequential = api["comparisons"][0]["sequential"]
        assert sequential["reject"] and sequential["p_value"] < 0.001 and "always-valid p < 0.001" in verdict
        assert sequential["low"] > 0  # the always-valid interval excludes no lift
        assert "Sample ratio as intended" in tab.page.locator("#srm").inner_text()
        rows = tab.page.locator("section[aria-labelledby=variants-title] tbody tr")
        assert rows.count() == 2
        customers = [int(t.replace(",", "")) for t in rows.locator("td:nth-child(4)").all_inner_texts()]
        assert customers == [v["customers"] for v in api["variants"]]
        plot = tab.page.locator("img.plot")
        assert plot.evaluate("img => img.complete && img.naturalWidth > 400")
        assert len(api["timeline"]) == DAYS
        tab.shot("experiment")
        tab.check_tidy()
    finally:
        tab.context.close()


def test_the_page_needs_the_marketer_and_names_a_missing_experiment(experiment_server: LiveServer) -> None:
    assert httpx.get(f"{experiment_server.url}/preview/experiments/ranker-b").status_code == 401
    missing = httpx.get(f"{experiment_server.url}/preview/experiments/nope", auth=MARKETER)
    assert missing.status_code == 404 and "Experiment nope not found" in missing.text
