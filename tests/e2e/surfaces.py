"""Every surface a customer can be seen on, read through the running app, and what the store
itself holds (Redis keys, the event stream, segment documents; the embedded store's JSONL log).

`Surfaces.call` is the one way requests are sent, so every answer is checked for a 5xx. `look`
gathers what one customer is shown everywhere into a `Seen`, and `Seen.everywhere` lists the
items of each answer by surface name, so a check can say which surface broke a promise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import redis
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from models import contract
from tests.e2e.promises import check_items, check_score, check_store_page, expect, item_ids
from tests.e2e.shop import BEARER, MARKETER
from tests.support import redis_reads
from tests.support.spreadsheet import csv_rows

K = 10  # items per answer (per store section) the sweep asks for


@dataclass(frozen=True)
class Outbound:
    status: int
    reason: str | None  # X-Outbound-Reason of a 204
    offer: dict[str, Any] | None


@dataclass(frozen=True)
class PreviewPage:
    store_titles: tuple[str, ...]  # the product cards of "their store", as printed
    history_rows: int  # rows of the purchase-history table


@dataclass
class Seen:
    """What one customer is shown, answer by answer (None: not read this time)."""

    customer: str
    recommend: dict[str, Any] | None = None
    recommend_all: dict[str, Any] | None = None  # include_purchased=true
    store: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None  # their result in a POST /recommend/batch
    outbound: Outbound | None = None
    export: dict[str, Any] | None = None
    preview: PreviewPage | None = None

    def everywhere(self) -> dict[str, list[str]]:
        """Surface name -> the item ids it shows this customer."""
        c = self.customer
        shown: dict[str, list[str]] = {}
        if self.recommend is not None:
            shown[f"GET /recommend/{c}"] = item_ids(self.recommend["items"])
        if self.recommend_all is not None:
            shown[f"GET /recommend/{c}?include_purchased=true"] = item_ids(self.recommend_all["items"])
        for section in self.store["sections"] if self.store is not None else []:
            shown[f"GET /personal-store/{c} section {section['id']}"] = item_ids(section["items"])
        if self.batch is not None:
            shown[f"POST /recommend/batch result for {c}"] = item_ids(self.batch["items"])
        if self.outbound is not None and self.outbound.offer is not None:
            shown[f"GET /outbound/{c}?dry_run=true"] = [self.outbound.offer["item"]["item_id"]]
        return shown

    def discovery(self) -> dict[str, list[str]]:
        """The surfaces that must not show an item the customer bought."""
        return {
            surface: ids
            for surface, ids in self.everywhere().items()
            if "include_purchased" not in surface
            and "outbound" not in surface
            and not surface.endswith("section buy_again")
        }


class Surfaces:
    def __init__(self, client: TestClient, settle: Callable[[], None]) -> None:
        self.client = client
        self.settle = settle  # wait until impressions recorded after answers have landed

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        resp = self.client.request(method, url, **kwargs)
        expect(resp.status_code < 500, "never-5xx", f"{method} {url}", f"{resp.status_code} {resp.text[:300]}")
        return resp

    def ok(self, method: str, url: str, status: int = 200, promise: str = "answers", **kwargs: Any) -> httpx.Response:
        resp = self.call(method, url, **kwargs)
        expect(
            resp.status_code == status,
            promise,
            f"{method} {url}",
            f"{resp.status_code} (expected {status}) {resp.text[:300]}",
        )
        return resp

    # --- answers, each checked for its shape ---

    def recommend(self, customer: str, k: int = K, include_purchased: bool = False) -> dict[str, Any]:
        url = f"/recommend/{customer}?k={k}" + ("&include_purchased=true" if include_purchased else "")
        body: dict[str, Any] = self.ok("GET", url).json()
        check_items(body["items"], k, f"GET {url}")
        return body

    def recommend_unrecorded(self, customer: str, k: int = K, key: bool = True) -> httpx.Response:
        return self.call("GET", f"/recommend/{customer}?k={k}&record=false", headers=BEARER if key else {})

    def store(self, customer: str, k: int = K) -> dict[str, Any]:
        url = f"/personal-store/{customer}?k={k}"
        body: dict[str, Any] = self.ok("GET", url).json()
        check_store_page(body, k, f"GET {url}")
        return body

    def batch(self, customers: list[str], k: int = K) -> dict[str, dict[str, Any]]:
        """Customer -> their result (the last one if an id is asked twice)."""
        body = self.ok("POST", "/recommend/batch", json={"customer_ids": customers, "k": k}).json()
        for result in body["results"]:
            check_items(result["items"], k, f"POST /recommend/batch result for {result['customer_id']}")
        return {r["customer_id"]: r for r in body["results"]}

    def outbound(self, customer: str) -> Outbound:
        url = f"/outbound/{customer}?dry_run=true"
        resp = self.call("GET", url, headers=BEARER)
        expect(resp.status_code in (200, 204), "answers", f"GET {url}", f"{resp.status_code} {resp.text[:300]}")
        offer = resp.json() if resp.status_code == 200 else None
        if offer is not None:
            check_score(offer["item"]["score"], f"GET {url}", offer["item"]["item_id"])
        return Outbound(resp.status_code, resp.headers.get("x-outbound-reason"), offer)

    def export(self, customer: str) -> dict[str, Any]:
        return self.ok("GET", f"/customers/{customer}/export", headers=BEARER).json()  # type: ignore[no-any-return]

    def impressions(self, customer: str) -> dict[str, int]:
        self.settle()
        return dict(self.export(customer)["live"]["impressions"])

    def preview(self, customer: str) -> PreviewPage:
        html = self.ok("GET", f"/preview/customers?customer_id={customer}", auth=MARKETER).text
        soup = BeautifulSoup(html, "html.parser")
        return PreviewPage(
            tuple(h.get_text(strip=True) for h in soup.select("section.store .card-title")),
            len(soup.select("table.history-table tbody tr")),
        )

    def offers_csv(self, k: int = K) -> list[dict[str, str]]:
        return _csv_rows(self.ok("GET", f"/preview/offers.csv?k={k}", auth=MARKETER).content)

    def segment_csv(self, segment: int, k: int = K) -> list[dict[str, str]] | None:
        """The segment's offer rows; None for a segment the loaded version does not have (404)."""
        url = f"/preview/segments/{segment}/offers.csv?k={k}"
        resp = self.call("GET", url, auth=MARKETER)
        expect(resp.status_code in (200, 404), "answers", f"GET {url}", f"{resp.status_code} {resp.text[:200]}")
        return _csv_rows(resp.content) if resp.status_code == 200 else None

    def segment_samples(self) -> dict[int, list[str]]:
        """Segment id -> its sample customers, as GET /segments/{id} answers."""
        listing = self.ok("GET", "/segments").json()["segments"]
        return {s["id"]: self.ok("GET", f"/segments/{s['id']}").json()["sample_customers"] for s in listing}

    # --- writes ---

    def post_events(self, events: list[dict[str, object]]) -> httpx.Response:
        body: dict[str, object] = events[0] if len(events) == 1 else {"events": events}
        return self.call("POST", "/events", json=body, headers=BEARER)

    def forget(self, customer: str) -> None:
        self.settle()  # impressions of earlier answers land before the erasure, as they would in a shop
        self.ok("DELETE", f"/customers/{customer}", 204, "forget-204", headers=BEARER)

    def restore(self, customer: str) -> None:
        self.ok("POST", f"/customers/{customer}/restore", 204, "restore-204", headers=BEARER)

    def reload(self) -> dict[str, Any]:
        return self.ok("POST", "/admin/reload", headers=BEARER).json()  # type: ignore[no-any-return]

    def look(
        self,
        customer: str,
        batch: dict[str, dict[str, Any]] | None = None,
        outbound: bool = True,
        export: bool = True,
        preview: bool = False,
    ) -> Seen:
        """Everything the customer is shown, at k=K (the answers a twin is compared on, and
        optionally their batch result, outbound dry run, export and preview page)."""
        return Seen(
            customer,
            self.recommend(customer),
            self.recommend(customer, include_purchased=True),
            self.store(customer),
            (batch or {}).get(customer),
            self.outbound(customer) if outbound else None,
            self.export(customer) if export else None,
            self.preview(customer) if preview else None,
        )


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return csv_rows(data)


# --- what the store itself holds ---


@dataclass(frozen=True)
class RedisContents:
    keys: tuple[str, ...]
    logged: Counter[str]  # customer id -> entries in the stream mo:events
    samples: dict[str, list[str]]  # segment document key -> its sample customers
    forgotten: frozenset[str]  # members of mo:forgotten
    current: str | None

    @classmethod
    def read(cls, client: redis.Redis) -> RedisContents:
        keys = tuple(sorted(cast(bytes, k).decode() for k in client.scan_iter(count=10_000)))
        logged = Counter(f[b"customer_id"].decode() for _, f in redis_reads.entries(client, contract.EVENTS_STREAM))
        segment_keys = [k for k in keys if _SEGMENT_DOC.match(k)]
        samples = {}
        docs = cast(list[bytes | None], client.mget(segment_keys)) if segment_keys else []
        for key, raw in zip(segment_keys, docs):
            doc = orjson.loads(raw) if raw else {}
            samples[key] = [str(c) for c in doc.get("sample_customers", [])]
        forgotten = frozenset(m.decode() for m in cast(set[bytes], client.smembers(contract.FORGOTTEN_KEY)))
        current = cast(bytes | None, client.get(contract.CURRENT_KEY))
        return cls(keys, logged, samples, forgotten, current.decode() if current else None)

    def naming(self, customer: str) -> list[str]:
        """Keys whose name holds the customer id as one of its parts (`mo:v:<v>:c:{<id>}`,
        `mo:live:{<id>}:shown`, ...)."""
        pattern = re.compile(rf"(^|[:{{]){re.escape(customer)}($|[:}}])")
        marker = contract.forgotten_marker_key(customer)  # part of the deny list, like the set's member
        return [k for k in self.keys if pattern.search(k) and k != marker]

    def documents_of(self, customer: str) -> dict[str, list[str]]:
        """Version -> the customer's own documents (`c:`, `store:`) it holds."""
        found: dict[str, list[str]] = {}
        for key in self.keys:
            match = _VERSION_KEY.match(key)
            if match and match["name"] in (f"c:{{{customer}}}", f"store:{{{customer}}}"):
                found.setdefault(match["version"], []).append(key)
        return found


_VERSION_KEY = re.compile(r"^mo:v:(?P<version>[^:]+):(?P<name>.+)$")
_SEGMENT_DOC = re.compile(r"^mo:v:[^:]+:\{v:[^}]+\}:segment:\d+$")


def logged_customers(log: Path) -> Counter[str]:
    """Customer id -> events in the embedded store's JSONL log."""
    if not log.exists():
        return Counter()
    return Counter(orjson.loads(line)["customer_id"] for line in log.read_bytes().splitlines() if line.strip())
