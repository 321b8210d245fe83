"""CORS as a real browser sees it: headless Chromium on a shop's page (another origin than the
API) posts an event with the publishable key after a real preflight and reads the answer; the
same page cannot call an admin route (the preflight fails, so the request is never sent), and a
page of an origin not configured cannot post events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from models.contract.artifact import load_artifact
from tests.support.apps import settings_for
from tests.support.chromium import chromium
from tests.support.keys import API_KEY
from tests.support.redis_server import free_port
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser

SHOP_PORT, ELSEWHERE_PORT = free_port(), free_port()
SHOP = f"http://127.0.0.1:{SHOP_PORT}"  # a page served by the test, not by the API
ELSEWHERE = f"http://127.0.0.1:{ELSEWHERE_PORT}"
EVENTS_KEY = "pk_browser_cors_0123456789"
FETCH = """async ([url, key, body]) => {
  try {
    const headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"};
    const r = await fetch(url, {method: "POST", headers, body});
    return [r.status, await r.text()];
  } catch (e) { return ["blocked", String(e)]; }
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        body = b"<!doctype html><title>shop</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def shop_pages() -> Iterator[None]:
    """Two plain pages on loopback ports of their own: the shop's, and another site's."""
    servers = [ThreadingHTTPServer(("127.0.0.1", port), _Page) for port in (SHOP_PORT, ELSEWHERE_PORT)]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    yield
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def api(trained_artifacts: Path) -> Iterator[LiveServer]:
    server = LiveServer(settings_for(trained_artifacts, cors_origins=[SHOP], events_keys=EVENTS_KEY))
    server.start()
    yield server
    server.stop()


def _page_on(browser: Browser, origin: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{origin}/shop.html")
    return page


@pytest.mark.usefixtures("shop_pages")
def test_the_shops_page_posts_events_but_cannot_call_admin_routes(
    browser: Browser, api: LiveServer, trained_artifacts: Path
) -> None:
    item = str(load_artifact(trained_artifacts).items.ids[0])
    event = f'{{"customer_id": "cors-c1", "item_id": "{item}", "type": "click"}}'
    page = _page_on(browser, SHOP)
    try:
        status, body = page.evaluate(FETCH, [f"{api.url}/events", EVENTS_KEY, event])
        assert status == 202, body
        assert '"accepted":1' in body.replace(" ", "")
        status, _ = page.evaluate(FETCH, [f"{api.url}/admin/reload", API_KEY, "{}"])
        assert status == "blocked"
        metrics = httpx.get(f"{api.url}/metrics").text
        assert 'method="OPTIONS",route="/admin/reload"' in metrics  # the preflight came, got no CORS headers
        assert 'method="POST",route="/admin/reload"' not in metrics  # so the request itself was never sent
    finally:
        page.context.close()


@pytest.mark.usefixtures("shop_pages")
def test_a_page_of_another_origin_cannot_post_events(browser: Browser, api: LiveServer) -> None:
    page = _page_on(browser, ELSEWHERE)
    try:
        status, _ = page.evaluate(FETCH, [f"{api.url}/events", EVENTS_KEY, "{}"])
        assert status == "blocked"
    finally:
        page.context.close()
