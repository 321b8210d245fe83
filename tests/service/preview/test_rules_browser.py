"""The marketer's business-rules flow in a real headless Chromium against a real uvicorn server,
from the preview alone: pin a product for one segment starting next week, see it absent from a
customer's store today and leading it as of next week (and absent for a customer of another
segment), see who did it in the audit, delete it; the forms carry the CSRF token, and a form
without it is refused."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from models.contract.artifact import Artifact, load_artifact, resolve_version_dir
from tests.support.apps import settings_for
from tests.support.keys import AUTH, MARKETER
from tests.support.paths import SCREENSHOTS
from tests.support.servers import LiveServer
from tests.support.sign_in import sign_in

pytestmark = pytest.mark.browser
LOW_CONTRAST_JS = (Path(__file__).parent / "low_contrast.js").read_text()
NEXT_WEEK = datetime.now(UTC).date() + timedelta(days=7)


@pytest.fixture(scope="module")
def private_artifacts(trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy: the rules file the embedded store writes stays out of the shared artifacts."""
    root = tmp_path_factory.mktemp("rules_browser")
    version = resolve_version_dir(trained_artifacts)
    shutil.copytree(version, root / version.name)
    return root


@pytest.fixture(scope="module")
def server(private_artifacts: Path) -> Iterator[LiveServer]:
    live = LiveServer(settings_for(private_artifacts))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def errors() -> list[str]:
    """Console errors and uncaught exceptions of the test's page (none expected unless it says)."""
    return []


@pytest.fixture
def page(browser: Browser, server: LiveServer, errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=server.url,
    )
    tab = context.new_page()
    sign_in(tab)  # through the form, as a marketer does: the session cookie goes along
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == []


def _store_items(server: LiveServer, customer_id: str) -> list[str]:
    body = httpx.get(f"{server.url}/personal-store/{customer_id}", params={"k": 6}).json()
    return [i["item_id"] for s in body["sections"] for i in s["items"]]


def _scenario(artifact: Artifact, server: LiveServer) -> tuple[str, int, str, str]:
    """A customer, their segment, a product they never bought nor see today, and a customer of
    another segment."""
    sf = artifact.storefront
    assert sf is not None
    ids = artifact.customers.ids.tolist()
    customer, segment = str(ids[0]), int(sf.segment_of[0])
    other = next(str(c) for row, c in enumerate(ids) if int(sf.segment_of[row]) != segment)
    h = artifact.history
    bought = {str(artifact.items.ids[i]) for i in h.indices[h.indptr[0] : h.indptr[1]]}
    shown = set(_store_items(server, customer)) | set(_store_items(server, other))
    popular = [str(artifact.items.ids[i]) for i in artifact.popular_items]
    product = next(p for p in popular if p not in bought and p not in shown)
    return customer, segment, product, other


def _store_on(page: Page, customer_id: str, day: str = "") -> list[str]:
    page.goto(f"/preview/customers?customer_id={customer_id}")
    if day:
        page.fill("#as-of-day", day)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**at={day}**")
    return page.locator(".store .card").evaluate_all("cards => cards.map(c => c.dataset.item)")


def test_a_pin_for_one_segment_next_week_from_the_preview(
    page: Page, server: LiveServer, private_artifacts: Path
) -> None:
    customer, segment, product, other = _scenario(load_artifact(private_artifacts), server)
    page.goto("/preview")
    page.get_by_role("link", name="Rules").click()
    page.wait_for_url("**/preview/rules")
    page.select_option("#rule-kind", "pin")
    page.fill("#rule-item", product)
    page.fill("#rule-segment", str(segment))
    page.fill("#rule-start", f"{NEXT_WEEK.isoformat()}T00:00")
    page.fill("#rule-end", f"{(NEXT_WEEK + timedelta(days=7)).isoformat()}T00:00")
    page.get_by_role("button", name="Add rule").click()
    page.wait_for_url("**/preview/rules")
    row = page.locator(f"tr:has(code:text-is('{product}'))")
    assert row.locator(".badge").inner_text() == "scheduled"
    assert f"segment {segment}" in row.inner_text()
    assert (
        page.locator(".audit li")
        .first.inner_text()
        .startswith(page.locator(".audit li time").first.inner_text() + " marketer added pin rule")
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "rules-1280x800.png", full_page=True)
    assert page.evaluate(LOW_CONTRAST_JS) == []

    assert product not in _store_on(page, customer)  # today: not yet
    ahead = _store_on(page, customer, NEXT_WEEK.isoformat())
    for_you = page.locator("#section-for_you ~ ul .card").first
    assert ahead and product in ahead and for_you.get_attribute("data-item") == product
    assert "As of" in page.locator(".as-of-note").inner_text()
    page.screenshot(path=SCREENSHOTS / "customer-as-of-1280x800.png", full_page=True)
    assert product not in _store_on(page, other, NEXT_WEEK.isoformat())  # another segment: never

    log = httpx.get(f"{server.url}/rules/audit", headers=AUTH).json()["entries"]
    assert log[0]["who"] == "marketer" and log[0]["after"]["item_id"] == product
    assert log[0]["after"]["segment"] == segment and log[0]["after"]["start"].startswith(NEXT_WEEK.isoformat())

    page.goto("/preview/rules")
    rule_id = log[0]["rule_id"]
    page.get_by_role("button", name=f"Delete rule {rule_id}").click()
    page.wait_for_url("**/preview/rules")
    assert page.locator(f"tr[data-rule='{rule_id}']").count() == 0
    assert "marketer deleted pin rule" in page.locator(".audit li").first.inner_text()
    assert product not in _store_on(page, customer, NEXT_WEEK.isoformat())


def test_a_rules_form_without_its_token_is_refused(server: LiveServer) -> None:
    forged = httpx.post(f"{server.url}/preview/rules", data={"kind": "block", "item_id": "85123A"}, auth=MARKETER)
    assert forged.status_code == 403
    assert httpx.get(f"{server.url}/rules", headers=AUTH).json()["rules"] == []


def test_a_bad_rule_from_the_form_names_the_field(page: Page, errors: list[str]) -> None:
    page.goto("/preview/rules")
    page.select_option("#rule-kind", "diversity")
    page.get_by_role("button", name="Add rule").click()
    assert "max_per_category" in page.get_by_role("alert").inner_text()
    assert page.locator(".rules-table").count() == 0  # nothing was added
    assert page.locator("#rule-kind").input_value() == "diversity"  # the form keeps what was typed
    assert errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    errors.clear()
