"""The service's Prometheus metrics, one registry per app (tests build many apps side by side).

Counters are per process, as Prometheus expects (it sums the workers); the all-time totals
across processes and restarts live in the store and feed `GET /feedback/summary`. Latency
histograms and other operational metrics belong here too, next to the feedback counters.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

FEEDBACK_LABELS = ("type", "source", "section", "segment")


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.feedback = Counter(
            "microoffers_feedback_events",
            "Feedback by type (impression, click, purchase, dismiss, return, ...), attributed to the source, "
            "section and customer segment that showed the item",
            FEEDBACK_LABELS,
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "microoffers_events_rejected", "POST /events requests refused, by reason", ("reason",),
            registry=self.registry,
        )
        self.outbound = Counter(
            "microoffers_outbound_decisions", "GET /outbound answers by outcome", ("outcome",),
            registry=self.registry,
        )

    def count_feedback(self, kind: str, source: str, section: str, segment: str, n: int = 1) -> None:
        self.feedback.labels(kind, source, section, segment).inc(n)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
