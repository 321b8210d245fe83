"""The preview in a real headless Chromium against a real uvicorn server: sign in (the form), open a
segment, look a customer up with the keyboard, download CSVs; no console errors, no sideways
scrolling on a phone, readable contrast; screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize

from models.contract.artifact import load_artifact
from tests.support.apps import settings_for
from tests.support.keys import AUTH, MARKETER
from tests.support.paths import SCREENSHOTS
from tests.support.servers import LiveServer
from tests.support.sign_in import sign_in
from tests.support.spreadsheet import csv_rows

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

LOW_CONTRAST_JS = (Path(__file__).parent / "low_contrast.js").read_text()


class Tab:
    """A signed-in page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Browser, server: LiveServer, viewport: ViewportSize, signed_in: bool = True) -> None:
        self.context = browser.new_context(viewport=viewport, accept_downloads=True, base_url=server.url)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        if signed_in:
            sign_in(self.page)  # through the form, as a marketer does: the session cookie goes along

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def shot(self, name: str) -> Path:
        size = self.page.viewport_size or DESKTOP
        path = SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def check_tidy(self) -> None:
        """No console errors, nothing wider than the screen, readable contrast."""
        assert self.errors == []
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page scrolls sideways by {overflow}px"
        assert self.page.evaluate(LOW_CONTRAST_JS) == []


@pytest.fixture
def tabs(browser: Browser, live_server: LiveServer) -> Iterator[list[Tab]]:
    opened: list[Tab] = []
    yield opened
    for tab in opened:
        tab.context.close()


def open_tab(tabs: list[Tab], browser: Browser, server: LiveServer, viewport: ViewportSize = DESKTOP) -> Tab:
    tab = Tab(browser, server, viewport)
    tabs.append(tab)
    return tab


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_overview_is_tidy_and_sortable_by_keyboard(
    browser: Browser, live_server: LiveServer, tabs: list[Tab], viewport: ViewportSize
) -> None:
    tab = open_tab(tabs, browser, live_server, viewport)
    response = tab.page.goto("/preview")
    assert response is not None and response.status == 200
    assert tab.page.locator("h1").inner_text() == "What will go out"
    assert tab.page.locator("table.segments tbody tr").count() > 2
    tab.shot("overview")
    tab.check_tidy()
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.page.locator("thead a", has_text="Customers").focus()
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    assert "sort=size&order=asc" in tab.page.url
    cells = tab.page.locator("table.segments tbody td:nth-child(3)").all_inner_texts()
    sizes = [int(t.replace(",", "")) for t in cells]
    assert sizes == sorted(sizes)
    assert tab.errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_open_a_segment_and_download_its_offer(
    browser: Browser, live_server: LiveServer, tabs: list[Tab], viewport: ViewportSize
) -> None:
    tab = open_tab(tabs, browser, live_server, viewport)
    tab.page.goto("/preview")
    first = tab.page.locator("td.segment-cell a").first
    name = first.inner_text()
    first.click()
    assert tab.page.locator("h1").inner_text() == name
    segment_id = int(tab.page.url.rsplit("/", 1)[1])
    api = httpx.get(f"{live_server.url}/segments/{segment_id}/offers?k=12").json()["offers"]
    assert tab.page.locator("ol.cards li.card").count() == len(api) > 0
    assert tab.page.locator("ol.cards .reason").all_inner_texts() == [o["reason"] for o in api]
    tab.shot("segment")
    tab.check_tidy()
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Download this offer (CSV)").click()
    assert download.value.suggested_filename.startswith(f"segment-{segment_id}-offers-")
    rows = csv_rows(download.value.path().read_bytes())
    assert [r["item_id"] for r in rows] == [o["item_id"] for o in api]  # as many as the page shows
    assert {r["segment_name"] for r in rows} == {name}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_look_up_a_customer_with_the_keyboard(
    browser: Browser, live_server: LiveServer, tabs: list[Tab], trained_artifacts: Path, viewport: ViewportSize
) -> None:
    customer = str(load_artifact(trained_artifacts).customers.ids[0])
    tab = open_tab(tabs, browser, live_server, viewport)
    tab.page.goto("/preview")
    tab.page.get_by_label("Customer id").focus()
    tab.page.keyboard.type(customer)
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    assert tab.page.locator("h1").inner_text() == f"Customer {customer}"
    store = httpx.get(f"{live_server.url}/personal-store/{customer}?k=6").json()
    titles = tab.page.locator("section.store-section h3").all_inner_texts()
    assert titles == [s["title"] for s in store["sections"]]
    assert tab.page.locator("table.history-table tbody tr").count() > 0
    assert store["loyalty"]["why"] in tab.page.locator(".why").inner_text()
    tab.shot("customer")
    tab.check_tidy()


def test_everyone_csv_downloads_from_the_overview(browser: Browser, live_server: LiveServer, tabs: list[Tab]) -> None:
    tab = open_tab(tabs, browser, live_server)
    tab.page.goto("/preview")
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Download everyone's offers (CSV)").click()
    rows = csv_rows(download.value.path().read_bytes())
    assert rows and {r["rank"] for r in rows} <= {str(n) for n in range(1, 11)}
    assert len({r["customer_id"] for r in rows}) > 100
    assert tab.errors == []


def test_without_credentials_the_browser_is_sent_to_the_sign_in_form(browser: Browser, live_server: LiveServer) -> None:
    """Nothing of the page is shown; the form (tested in test_login_browser) takes its place."""
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        statuses: list[int] = []
        page.on("response", lambda response: statuses.append(response.status))
        response = page.goto("/preview")
        assert response is not None and response.status == 200
        assert statuses[0] == 303 and page.url.endswith("/preview/login?next=%2Fpreview")
        assert page.get_by_text("What will go out").count() == 0
    finally:
        context.close()


@pytest.fixture(scope="module")
def campaign_server(trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The preview with a campaigns file of its own (the shared artifacts stay untouched)."""
    book = tmp_path_factory.mktemp("campaigns") / "campaigns.json"
    server = LiveServer(settings_for(trained_artifacts, campaigns_file=book))
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_plan_a_campaign_see_who_gets_what_and_export_its_audience(
    browser: Browser, campaign_server: LiveServer, tabs: list[Tab], viewport: ViewportSize
) -> None:
    tab = open_tab(tabs, browser, campaign_server, viewport)
    tab.page.goto("/preview")
    with tab.page.expect_navigation():
        tab.page.get_by_role("link", name="Campaigns").click()
    assert tab.page.locator("h1").inner_text() == "Campaigns"
    tab.check_tidy()
    form = tab.page.locator("form.campaign-form")
    form.get_by_label("Name").fill("Spring mugs")
    form.get_by_label("Segment").select_option(index=2)
    form.get_by_label("Channel").select_option("sms")
    form.get_by_label("First day").fill("2031-05-01")
    form.get_by_label("Last day").fill("2031-04-01")
    with tab.page.expect_navigation():
        form.get_by_role("button", name="Plan campaign").click()
    assert "end: ends (2031-04-01) before it starts (2031-05-01)" in tab.page.get_by_role("alert").inner_text()
    assert [e for e in tab.errors if "422" not in e] == []  # the refused form answers 422, as it should
    tab.errors.clear()
    form.get_by_label("Last day").fill("2031-05-31")
    with tab.page.expect_navigation():
        form.get_by_role("button", name="Plan campaign").click()
    assert tab.page.locator("h1").inner_text() == "Spring mugs"
    campaign_id = tab.page.url.rsplit("/", 1)[1]
    auth = httpx.BasicAuth(*MARKETER)
    api = csv_rows(httpx.get(f"{campaign_server.url}/campaigns/{campaign_id}/offers.csv", headers=AUTH).content)
    shown = tab.page.locator("table.sends tbody tr").evaluate_all("rows => rows.map(r => r.dataset.customer)")
    assert shown == [r["customer_id"] for r in api][: len(shown)] and shown
    assert {r["channel"] for r in api} == {"sms"}
    tab.shot("campaign")
    tab.check_tidy()
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Download the audience (CSV)").click()
    audience = csv_rows(download.value.path().read_bytes())
    members = httpx.get(f"{campaign_server.url}/preview/campaigns/{campaign_id}/audience.csv", auth=auth).content
    assert audience == csv_rows(members) and len(audience) >= len(api)
    assert {r["campaign_id"] for r in audience} == {campaign_id}
