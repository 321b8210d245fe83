"""The lock-free counters and histogram expose what prometheus_client's own would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service.observability.loop_metrics import LoopCounter, LoopHistogram

BUCKETS = (0.001, 0.01, 0.1)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_loop_histogram_matches_prometheus_client() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    fast = LoopHistogram("latency_seconds", "doc", ("route",), BUCKETS, ours)
    slow = Histogram("latency_seconds", "doc", ("route",), buckets=BUCKETS, registry=theirs)
    for value in (0.0005, 0.001, 0.002, 0.05, 0.1, 3.0):
        fast.observe(("/a",), value)
        slow.labels("/a").observe(value)
    fast.observe(("/b",), 0.02)
    slow.labels("/b").observe(0.02)
    assert samples(ours) == samples(theirs)


def test_loop_counter_counts_per_label_set() -> None:
    registry = CollectorRegistry()
    counter = LoopCounter("answers", "doc", ("route", "by"), registry)
    counter.inc(("/a", "hot"))
    counter.inc(("/a", "hot"), 2)
    counter.inc(("/a", "route"))
    got = samples(registry)
    assert got[("answers_total", (("by", "hot"), ("route", "/a")))] == 3
    assert got[("answers_total", (("by", "route"), ("route", "/a")))] == 1
    assert counter.value("/a", "hot") == 3
