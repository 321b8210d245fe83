"""The service's Prometheus metrics, one registry per app (tests build many apps side by side).

Counters are per process, as Prometheus expects (it sums the workers); the all-time totals
across processes and restarts live in the store and feed `GET /feedback/summary`.

Labels stay bounded: routes are templates (`/recommend/{customer_id}`, never a raw path),
statuses are HTTP codes, versions change once per publish.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from service.observability.loop_metrics import LoopCounter, LoopHistogram

FEEDBACK_LABELS = ("type", "source", "section", "segment")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.feedback = LoopCounter(
            "microoffers_feedback_events",
            "Feedback by type (impression, click, purchase, dismiss, return, ...), attributed to the source, "
            "section and customer segment that showed the item",
            FEEDBACK_LABELS,
            registry=r,
        )
        self.events_rejected = Counter(
            "microoffers_events_rejected",
            "POST /events requests refused, by reason",
            ("reason",),
            registry=r,
        )
        self.complaint_webhook = Counter(
            "microoffers_complaint_webhook",
            "Complaint/return webhook payloads by outcome: delivered, retried (an attempt after a failure), "
            "failed (every attempt failed), dropped (queue full, or undelivered at shutdown)",
            ("outcome",),
            registry=r,
        )
        self.outbound = Counter(
            "microoffers_outbound_decisions",
            "GET /outbound answers by outcome",
            ("outcome",),
            registry=r,
        )
        self.request_latency = LoopHistogram(
            "microoffers_http_request_duration_seconds",
            "Time to answer, by method and route template",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.responses = LoopCounter(
            "microoffers_http_responses",
            "Answers by method, route template and status code",
            ("method", "route", "status"),
            registry=r,
        )
        self.lookups = LoopCounter(
            "microoffers_customer_lookups",
            "Customer documents looked up, by store and result: hit (precomputed list found) or miss "
            "(unknown customer: popular fallback)",
            ("store", "result"),
            registry=r,
        )
        self.hot_path = LoopCounter(
            "microoffers_hot_path_answers",
            "GET /recommend and /personal-store reads by who answered: the hot path, or the route "
            "(other parameters, invalid input, Redis trouble; see service.hotpath)",
            ("route", "answered_by"),
            registry=r,
        )
        self.degraded_answers = Counter(
            "microoffers_degraded_answers",
            "Answers flagged degraded: from the in-process fallback (Redis down or slow) or without the "
            "customer's live state",
            ("reason",),
            registry=r,
        )
        self.rate_limited = Counter(
            "microoffers_rate_limited",
            "Keyed requests refused with 429 by a key's (or a browser IP's) rate",
            registry=r,
        )
        self.auth_failures = Counter(
            "microoffers_auth_failures",
            "Wrong credentials presented, by scheme (bearer key, HTTP Basic, the preview's sign-in form)",
            ("scheme",),
            registry=r,
        )
        self.auth_blocked = Counter(
            "microoffers_auth_blocked",
            "Authentications refused with 429: the client IP had too many failures in the window",
            ("scheme",),
            registry=r,
        )
        self.reloads = Counter(
            "microoffers_model_reloads",
            "Model reloads (POST /admin/reload or the file watch) by outcome",
            ("outcome",),
            registry=r,
        )
        self.forgotten = Counter("microoffers_customers_forgotten", "DELETE /customers/{id} served", registry=r)
        self.model_info = Gauge(
            "microoffers_model_info",
            "1 for the model version being served (Redis' current one, or the in-process artifact's)",
            ("version",),
            registry=r,
        )
        self.model_age = Gauge(
            "microoffers_model_age_seconds",
            "Seconds since the served model was trained (manifest created_at)",
            registry=r,
        )
        self.data_age = Gauge(
            "microoffers_model_data_age_seconds",
            "Seconds since the last purchase in the served model's training data (manifest data_end)",
            registry=r,
        )
        self.loaded_info = Gauge(
            "microoffers_model_loaded_info",
            "1 for the artifact version loaded in this process (fallback and fold-in factors)",
            ("version",),
            registry=r,
        )
        self._served: str | None = None
        self._loaded: str | None = None

    def count_feedback(self, kind: str, source: str, section: str, segment: str, n: int = 1) -> None:
        self.feedback.inc((kind, source, section, segment), n)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_latency.observe((method, route), seconds)
        self.responses.inc((method, route, str(status)))

    def count_hot_path(self, route: str, answered: bool) -> None:
        self.hot_path.inc((route, "hot_path" if answered else "route"))

    def count_lookup(self, store: str, hit: bool) -> None:
        self.lookups.inc((store, "hit" if hit else "miss"))

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
