"""The hot path's ASGI handler, in front of the FastAPI routes it mirrors.

It answers `GET /recommend/{customer}` (query `k`, `include_purchased`) and
`GET /personal-store/{customer}` (query `k`) with exactly what the routes would answer, through
the same domain functions (`service.core.recommend.choose`, `service.core.personal_store`); it
only changes how data arrives (one batched Redis round trip per tick, see `batcher`) and what is
kept between requests (see `answers`). It hands the request to FastAPI, untouched, whenever the
request is anything else: another path or method (a fixed path such as `/recommend/batch` is a
route of its own, not a customer id), other or repeated or invalid parameters (so
errors keep the routes' 422 shape), a customer on this worker's deny list, Redis unreadable or
the service already answering from its fallback (degraded answers are the routes' business),
a customer whose experiment variant serves another version than the one read, or the
hold-out (`_assignment`; the running experiment is read with every tick's pipeline), and
while any business rule is active or scheduled (`models.rules.business`: the answers it keeps
could not follow a rule starting or ending).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from starlette.types import Scope, Send

from models.contract import decode_offers, documents
from models.contract.answer_fragments import ANSWER_ITEMS
from service.core import experiments, filters, personal_store
from service.core import recommend as recommendations
from service.core.deny_list import DenyList
from service.hotpath.answers import AnswerCache, Entry, Rendered
from service.hotpath.batcher import Read, RedisBatcher
from service.hotpath.cold import AnswerItems, cold_answer
from service.http.deps import CUSTOMER_ID_PATTERN
from service.http.middleware import request_id_of, response_headers
from service.http.params import DEFAULT_K, MAX_RECOMMEND_K, MAX_STORE_K, MIN_K
from service.live.impressions import encode_impressions
from service.live.redis_state import RedisLiveState
from service.live.state import Impressions
from service.live.view import overlay_from_view
from service.observability.logs import AccessLog
from service.serving import Serving
from service.storage.experiments import RedisExperiments
from service.storage.stores import RedisStore, StoreUnavailableError

log = logging.getLogger(__name__)

RECOMMEND, PERSONAL_STORE = "/recommend/", "/personal-store/"
RECOMMEND_ROUTE, PERSONAL_STORE_ROUTE = "/recommend/{customer_id}", "/personal-store/{customer_id}"
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_BOOLS = {b"true": True, b"false": False, b"1": True, b"0": False}
_JSON = (b"content-type", b"application/json")
MAX_REMEMBERED_QUERIES = 1024
ANSWER, OFFERS = "answer", "offers"  # what a cache entry must hold (see `HotPath._read`)


def _count(most: int) -> Callable[[bytes], int | None]:
    """`k` as the route's `Query(ge=MIN_K, le=most)` takes it (plain digits only: anything
    else the route parses, or refuses, itself)."""
    digits = len(str(most))

    def parse(raw: bytes) -> int | None:
        if not raw.isdigit() or len(raw) > digits:
            return None
        value = int(raw)
        return value if MIN_K <= value <= most else None

    return parse


RECOMMEND_QUERY: dict[bytes, Callable[[bytes], Any]] = {b"k": _count(MAX_RECOMMEND_K), b"include_purchased": _BOOLS.get}
STORE_QUERY: dict[bytes, Callable[[bytes], Any]] = {b"k": _count(MAX_STORE_K)}


def parse_query(raw: bytes, allowed: dict[bytes, Callable[[bytes], Any]]) -> dict[bytes, Any] | None:
    """The parameters if every one is known, given once and valid; None sends the request to
    the route (which validates and explains)."""
    out: dict[bytes, Any] = {}
    if not raw:
        return out
    for part in raw.split(b"&"):
        name, sep, value = part.partition(b"=")
        parse = allowed.get(name)
        if parse is None or not sep or name in out:
            return None
        parsed = parse(value)
        if parsed is None:
            return None
        out[name] = parsed
    return out


class Delegate(Exception):
    """This request is the routes' business."""


def open_hot_path(
    state: Any, routes: Iterable[Any], deny: DenyList, access: AccessLog, cache_size: int, cors: bool
) -> HotPath | None:
    """The hot path over `state.serving` when the service reads from Redis (the embedded store
    answers in process already: its requests take the routes). `routes`: the FastAPI routes it
    mirrors, so metrics and logs name the same route template either way."""
    serving: Serving = state.serving
    store, live_state = serving.stores.primary, serving.live.state
    if not isinstance(store, RedisStore) or not isinstance(live_state, RedisLiveState):
        return None
    routes = list(routes)
    mirrored = {
        route.path: route for route in routes if getattr(route, "path", None) in (RECOMMEND_ROUTE, PERSONAL_STORE_ROUTE)
    }
    # A fixed path among these routes (`/recommend/batch`) is not a customer id: its route answers.
    fixed = frozenset(path for route in routes if "{" not in (path := getattr(route, "path", "{")))
    batcher = RedisBatcher(store, live_state, serving.live.now_ms, access.metrics)
    return HotPath(state, batcher, deny, access, cache_size, mirrored, cors, fixed)


class HotPath:
    """Answers a request before FastAPI's middleware stack sees it, or says it did not
    (`handle` returns False and the app serves the request as usual). What the stack would add,
    it adds itself: the request id, the security headers, the route's metrics and access log."""

    def __init__(
        self,
        state: Any,
        batcher: RedisBatcher,
        deny: DenyList,
        access: AccessLog,
        cache_size: int,
        routes: dict[str, Any],
        cors: bool,
        fixed_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.state, self.batcher, self.deny, self.access = state, batcher, deny, access
        self.metrics = access.metrics
        self.cache_size, self.routes, self.cors, self.fixed_paths = cache_size, routes, cors, fixed_paths
        self.recommend_cache: AnswerCache | None = None
        self.store_cache: AnswerCache | None = None
        self._queries: dict[tuple[bytes, int], dict[bytes, Any]] = {}
        self._answer_items: tuple[str, AnswerItems | None] | None = None  # (version, its items)

    def close(self) -> None:
        self.batcher.connection.close()

    async def handle(self, scope: Scope, send: Send) -> bool:
        if scope["method"] != "GET" or (self.cors and _has_header(scope, b"origin")):
            return False
        path: str = scope["path"]
        start = time.perf_counter()
        try:
            if path in self.fixed_paths:
                raise Delegate  # e.g. GET /recommend/batch: its route answers 405, not a read for "batch"
            if path.startswith(RECOMMEND):
                route, body = RECOMMEND_ROUTE, await self._recommend(scope, path[len(RECOMMEND) :])
            elif path.startswith(PERSONAL_STORE):
                route, body = PERSONAL_STORE_ROUTE, await self._personal_store(scope, path[len(PERSONAL_STORE) :])
            else:
                return False
        except Delegate:
            self._declined(path)
            return False
        except Exception:  # the routes answer instead, with their own error handling
            log.exception("hot path failed; the route answers")
            self._declined(path)
            return False
        request_id = request_id_of(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_JSON, (b"content-length", b"%d" % len(body)), *response_headers(request_id)],
            }
        )
        await send({"type": "http.response.body", "body": body})
        scope["route"] = self.routes[route]
        scope["path_params"] = {"customer_id": path.rsplit("/", 1)[-1]}
        self.access.record(scope, route, 200, time.perf_counter() - start, request_id)
        if self.metrics is not None:
            self.metrics.count_hot_path(route, True)
        return True

    def _declined(self, path: str) -> None:
        if self.metrics is not None:
            self.metrics.count_hot_path(RECOMMEND_ROUTE if path.startswith(RECOMMEND) else PERSONAL_STORE_ROUTE, False)

    async def _recommend(self, scope: Scope, customer_id: str) -> bytes:
        serving = self._serving(customer_id, self.recommend_cache)
        query = self._query(scope["query_string"], RECOMMEND_QUERY)
        k, include_purchased = query.get(b"k", DEFAULT_K), query.get(b"include_purchased", False)
        wanted = OFFERS if include_purchased else ANSWER
        read, entry = await self._read(serving, customer_id, "recommend_cache", wanted)
        now_ms = serving.live.now_ms()
        rendered = entry.bodies.get((k, include_purchased))
        if rendered is None or rendered.view != read.view or now_ms >= rendered.valid_until_ms:
            cold = not (read.view or include_purchased) and entry.answer is not None
            rendered = await self._cold(serving, read, entry, customer_id, k) if cold else None
            if rendered is None:  # live state, or no `a:` document: the full computation
                if not entry.offers_read:
                    read, entry = await self._read(serving, customer_id, "recommend_cache", OFFERS)
                chosen = self._assignment(serving, read, customer_id)
                rendered = await self._compute_recommend(
                    serving, read, entry, customer_id, k, include_purchased, now_ms, chosen
                )
            entry.bodies[(k, include_purchased)] = rendered
        if self.metrics is not None:
            self.metrics.count_lookup("redis", entry.offers is not None or entry.answer is not None)
        if rendered.shown is not None:
            self.batcher.shown(rendered.shown, rendered.encoded)
            if rendered.exposure is not None:
                self.batcher.exposed(rendered.exposure)
        return rendered.body

    async def _cold(self, serving: Serving, read: Read, entry: Entry, customer_id: str, k: int) -> Rendered | None:
        """The answer from the customer's `a:` document (`service.hotpath.cold`; their overlay
        view is empty); None when the version has no pre-rendered items."""
        items = await self._answer_items_of(serving, read.version)
        if items is None or entry.answer is None:
            return None
        chosen = self._assignment(serving, read, customer_id)
        body, shown_items, recommendation_id = cold_answer(items, entry.answer, customer_id, k, chosen, filters.today())
        if not shown_items:
            return Rendered(body, read.view, float("inf"))
        if entry.segment is None:
            entry.segment = serving.live.segment_of(customer_id)
        shown = Impressions(customer_id, shown_items, "personal", recommendations.SECTION, entry.segment, ())
        exposure = (
            experiments.exposure_of(recommendation_id, customer_id, len(shown_items)) if chosen.experiment else None
        )
        return Rendered(body, read.view, float("inf"), shown, encode_impressions(shown), exposure)

    async def _answer_items_of(self, serving: Serving, version: str) -> AnswerItems | None:
        """The version's `AnswerItems`, made once per version (None: published without them)."""
        known = self._answer_items
        if known is not None and known[0] == version:
            return known[1]
        store = serving.stores.primary
        try:
            raw = await store.document(version, ANSWER_ITEMS)
            items = AnswerItems(version, orjson.loads(raw), await store.catalog(version)) if raw else None
        except StoreUnavailableError as exc:
            raise Delegate from exc
        self._answer_items = (version, items)
        return items

    def _assignment(self, serving: Serving, read: Read, customer_id: str) -> experiments.Assignment:
        """The customer's variant in the experiment this tick read; Delegate when the variant
        serves something else than the plain answer (another version, the hold-out): the
        routes answer those, so only the version and policy read here are ever served here."""
        store = serving.live.experiments
        if read.experiment is None or not isinstance(store, RedisExperiments):
            return experiments.NO_EXPERIMENT
        chosen = experiments.assign(store.parse_running(read.experiment), customer_id)
        if chosen.popular_only or chosen.version not in (None, read.version):
            raise Delegate
        return chosen

    async def _compute_recommend(
        self,
        serving: Serving,
        read: Read,
        entry: Entry,
        customer_id: str,
        k: int,
        include_purchased: bool,
        now_ms: int,
        chosen: experiments.Assignment,
    ) -> Rendered:
        store, live, version = serving.stores.primary, serving.live, read.version
        snapshot, until = overlay_from_view(read.view, now_ms, live.policy.cap_window_ms)
        try:
            popular = await store.popular_offers(version) if entry.offers is None else []
            choice = recommendations.choose(
                entry.offers,
                popular,
                snapshot,
                await store.catalog(version),
                k,
                include_purchased,
                live,
                customer_id,
                now_ms,
            )
            rhythm = await recommendations.rhythms_if_needed(store, version, customer_id, choice)
        except StoreUnavailableError as exc:
            raise Delegate from exc
        fields = recommendations.answer_fields(version, customer_id, choice, False, rhythm, chosen)
        body = orjson.dumps(fields)
        if not choice.offers:
            return Rendered(body, read.view, until)
        if entry.segment is None:
            entry.segment = live.segment_of(customer_id)
        items = tuple(o.item_id for o in choice.offers)
        capped = snapshot.capped_among(items, live.policy, now_ms)
        shown = Impressions(customer_id, items, choice.source, recommendations.SECTION, entry.segment, capped)
        exposure = experiments.exposure_of(fields["recommendation_id"], customer_id, len(items))
        return Rendered(body, read.view, until, shown, encode_impressions(shown), exposure)

    async def _personal_store(self, scope: Scope, customer_id: str) -> bytes:
        serving = self._serving(customer_id, self.store_cache)
        query = self._query(scope["query_string"], STORE_QUERY)
        k = query.get(b"k", DEFAULT_K)
        read, entry = await self._read(serving, customer_id, "store_cache", None)
        now_ms = serving.live.now_ms()
        rendered = entry.bodies.get(k)
        if rendered is None or rendered.view != read.view or now_ms >= rendered.valid_until_ms:
            snapshot, until = overlay_from_view(read.view, now_ms, serving.live.policy.cap_window_ms)
            chosen = self._assignment(serving, read, customer_id)
            try:
                page = await personal_store.personal_store(
                    serving.stores.primary,
                    read.version,
                    customer_id,
                    k,
                    live=serving.live,
                    snapshot=snapshot,
                    chosen=chosen,
                )
            except StoreUnavailableError as exc:
                raise Delegate from exc
            rendered = Rendered(orjson.dumps(page.model_dump(mode="json")), read.view, until)
            entry.bodies[k] = rendered
        return rendered.body

    async def _read(self, serving: Serving, customer_id: str, which: str, wanted: str | None) -> tuple[Read, Entry]:
        """This tick's read for the customer, and their entry in the cache of the version read (a
        new, empty cache when the version, the erasure count, the day or the generation changed).
        `wanted`: what the entry must hold, reading its document if it does not (`ANSWER`: the
        `a:` document, `OFFERS`: the `c:` list; None: nothing, the personal store reads its own)."""
        for _ in range(3):
            cache: AnswerCache | None = getattr(self, which)
            entry = cache.get(customer_id) if cache is not None else None
            document = None if entry is not None and _holds(entry, wanted) else _document_of(wanted, customer_id)
            try:
                batch, n = self.batcher.read(customer_id, document)  # the view: both pages follow live state
                await batch.done
                read = batch.read(n)
            except StoreUnavailableError as exc:
                raise Delegate from exc
            key = (read.version, read.erasures, _utc_day(), id(serving), read.experiment)
            cache = getattr(self, which)  # another request may have replaced it meanwhile
            if cache is None or cache.key != key:
                cache = AnswerCache(key, self.cache_size)
                setattr(self, which, cache)
            entry = cache.get(customer_id)
            if document is None and entry is not None:
                return read, entry
            if document is None and wanted is not None:
                continue  # the cache was emptied while we read without the document: read again, with it
            if entry is None:
                entry = cache.put(customer_id, Entry(None, offers_read=False))
            if wanted == OFFERS:
                entry.offers, entry.offers_read = (decode_offers(read.document) if read.document else None), True
            elif wanted == ANSWER:
                entry.answer, entry.answer_read = read.document, True  # b"": an empty pool
            return read, entry
        raise Delegate  # the version switched while we read, again and again: let the route answer

    def _serving(self, customer_id: str, cache: AnswerCache | None) -> Serving:
        """The generation to answer from; Delegate when the routes must answer. A customer with
        a cache entry was validated when it was made."""
        serving: Serving = self.state.serving
        if serving.stores.degraded or customer_id in self.deny.ids:
            raise Delegate
        rules = serving.live.rule_set()
        if rules.rules and rules.in_force(serving.live.clock()):
            raise Delegate  # business rules active or scheduled: the routes apply them (answers kept here would not)
        if (cache is None or customer_id not in cache) and not _CUSTOMER_ID.fullmatch(customer_id):
            raise Delegate
        return serving

    def _query(self, raw: bytes, allowed: dict[bytes, Callable[[bytes], Any]]) -> dict[bytes, Any]:
        """Parsed parameters, remembered per query string (frontends send a handful of them)."""
        key = (raw, id(allowed))
        query = self._queries.get(key)
        if query is None:
            query = parse_query(raw, allowed)
            if query is None:
                raise Delegate
            if len(self._queries) < MAX_REMEMBERED_QUERIES:
                self._queries[key] = query
        return query


def _holds(entry: Entry, wanted: str | None) -> bool:
    if wanted == ANSWER:
        return entry.answer_read or entry.offers_read
    return entry.offers_read or wanted is None


def _document_of(wanted: str | None, customer_id: str) -> str | None:
    if wanted == ANSWER:
        return documents.answer_doc(customer_id)
    return documents.customer_doc(customer_id) if wanted == OFFERS else None


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope["headers"])


def _utc_day() -> int:
    """The day catalog rules are checked against, as the rules themselves read it."""
    return filters.today().toordinal()
