"""Counters and a histogram for the per-request path, without a lock per update.

`prometheus_client` guards every value with a mutex (it must: any thread may update it). The
request path of this service runs on the event loop's one thread, where a counter update is
a dict lookup and an add; at tens of thousands of requests per second the library's locks and
label lookups cost as much as the rest of a cached answer. These keep plain numbers and hand
them to the registry at scrape time, in the same exposition format. Updates from other threads
are safe under the GIL except that two racing increments of one cell may count once (these
metrics are updated from the loop thread only).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class LoopCounter(Collector):
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.values: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def inc(self, labels: tuple[str, ...], amount: float = 1) -> None:
        self.values[labels] = self.values.get(labels, 0) + amount

    def value(self, *labels: str) -> float:
        return self.values.get(labels, 0)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in list(self.values.items()):
            family.add_metric(labels, value)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)


class LoopHistogram(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.bounds = tuple(buckets)
        self.cells: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}  # counts per bucket (+Inf), [sum]
        registry.register(self)

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        cell = self.cells.get(labels)
        if cell is None:
            cell = self.cells[labels] = ([0] * (len(self.bounds) + 1), [0.0])
        cell[0][bisect_left(self.bounds, value)] += 1
        cell[1][0] += value

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, (counts, total) in list(self.cells.items()):
            cumulative, running = [], 0
            for bound, n in zip((*map(_bound, self.bounds), "+Inf"), counts, strict=True):
                running += n
                cumulative.append((bound, running))
            family.add_metric(labels, cumulative, total[0])
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)


def _bound(value: float) -> str:
    return repr(float(value))
