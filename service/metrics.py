"""The service's Prometheus metrics, one registry per app (tests build many apps side by side).

Counters are per process, as Prometheus expects (it sums the workers); the all-time totals
across processes and restarts live in the store and feed `GET /feedback/summary`.

Labels stay bounded: routes are templates (`/recommend/{customer_id}`, never a raw path),
statuses are HTTP codes, versions change once per publish.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

FEEDBACK_LABELS = ("type", "source", "section", "segment")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self._request_cells: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._hot_cells: dict[tuple[str, bool], Any] = {}
        self._lookup_cells: dict[tuple[str, bool], Any] = {}
        self.feedback = Counter(
            "microoffers_feedback_events",
            "Feedback by type (impression, click, purchase, dismiss, return, ...), attributed to the source, "
            "section and customer segment that showed the item",
            FEEDBACK_LABELS,
            registry=r,
        )
        self.events_rejected = Counter(
            "microoffers_events_rejected", "POST /events requests refused, by reason", ("reason",), registry=r,
        )
        self.outbound = Counter(
            "microoffers_outbound_decisions", "GET /outbound answers by outcome", ("outcome",), registry=r,
        )
        self.request_latency = Histogram(
            "microoffers_http_request_duration_seconds", "Time to answer, by method and route template",
            ("method", "route"), buckets=LATENCY_BUCKETS, registry=r,
        )
        self.responses = Counter(
            "microoffers_http_responses", "Answers by method, route template and status code",
            ("method", "route", "status"), registry=r,
        )
        self.lookups = Counter(
            "microoffers_customer_lookups",
            "Customer documents looked up, by store and result: hit (precomputed list found) or miss "
            "(unknown customer: popular fallback)",
            ("store", "result"), registry=r,
        )
        self.hot_path = Counter(
            "microoffers_hot_path_answers",
            "GET /recommend and /personal-store reads by who answered: the hot path, or the route "
            "(other parameters, invalid input, Redis trouble; see service.hotpath)",
            ("route", "answered_by"), registry=r,
        )
        self.degraded_answers = Counter(
            "microoffers_degraded_answers",
            "Answers flagged degraded: from the in-process fallback (Redis down or slow) or without the "
            "customer's live state",
            ("reason",), registry=r,
        )
        self.rate_limited = Counter(
            "microoffers_rate_limited", "Write and admin requests refused with 429", registry=r,
        )
        self.reloads = Counter(
            "microoffers_model_reloads", "Model reloads (POST /admin/reload or the file watch) by outcome",
            ("outcome",), registry=r,
        )
        self.forgotten = Counter("microoffers_customers_forgotten", "DELETE /customers/{id} served", registry=r)
        self.model_info = Gauge(
            "microoffers_model_info", "1 for the model version being served (Redis' current one, or the "
            "in-process artifact's)", ("version",), registry=r,
        )
        self.model_age = Gauge(
            "microoffers_model_age_seconds", "Seconds since the served model was trained (manifest created_at)",
            registry=r,
        )
        self.data_age = Gauge(
            "microoffers_model_data_age_seconds", "Seconds since the last purchase in the served model's "
            "training data (manifest data_end)", registry=r,
        )
        self.loaded_info = Gauge(
            "microoffers_model_loaded_info", "1 for the artifact version loaded in this process (fallback and "
            "fold-in factors)", ("version",), registry=r,
        )
        self._served: str | None = None
        self._loaded: str | None = None

    def count_feedback(self, kind: str, source: str, section: str, segment: str, n: int = 1) -> None:
        self.feedback.labels(kind, source, section, segment).inc(n)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        cells = self._request_cells.get((method, route, status))
        if cells is None:  # label lookups cost more than the observation: keep the children
            cells = (self.request_latency.labels(method, route), self.responses.labels(method, route, str(status)))
            self._request_cells[(method, route, status)] = cells
        cells[0].observe(seconds)
        cells[1].inc()

    def count_hot_path(self, route: str, answered: bool) -> None:
        key = (route, answered)
        cell = self._hot_cells.get(key)
        if cell is None:
            cell = self._hot_cells[key] = self.hot_path.labels(route, "hot_path" if answered else "route")
        cell.inc()

    def count_lookup(self, store: str, hit: bool) -> None:
        cell = self._lookup_cells.get((store, hit))
        if cell is None:
            cell = self._lookup_cells[(store, hit)] = self.lookups.labels(store, "hit" if hit else "miss")
        cell.inc()

    def set_served_model(self, version: str, created_at_s: float | None, data_end_s: float | None) -> None:
        """The version answers come from, and its ages (measured now)."""
        self._served = _swap_label(self.model_info, self._served, version)
        now = time.time()
        if created_at_s is not None:
            self.model_age.set(now - created_at_s)
        if data_end_s is not None:
            self.data_age.set(now - data_end_s)

    def set_loaded_model(self, version: str | None) -> None:
        self._loaded = _swap_label(self.loaded_info, self._loaded, version)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _swap_label(gauge: Gauge, old: str | None, new: str | None) -> str | None:
    """An info-style gauge names one version at a time: the old label goes when a new one comes."""
    if old is not None and old != new:
        gauge.remove(old)
    if new is not None:
        gauge.labels(new).set(1)
    return new
