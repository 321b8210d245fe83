"""An experiment's results from its tallies: per variant figures, differences against the control
with 95% intervals, the always-valid sequential test on conversion, the sample-ratio check, and
the day-by-day course of the test (what the preview plots).

The unit is the customer (the unit that was randomised): conversion is the share of exposed
customers with at least one attributed purchase, revenue is per exposed customer. Click-through
is per impression (items shown), reported with a Wald interval that ignores the correlation
within a customer: a guide, not the test.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from models.contract.experiments import Experiment
from models.evaluation import online
from service.http.experiment_schemas import (
    Comparison,
    Difference,
    ExperimentResults,
    ExperimentSummary,
    SampleRatioOut,
    Sequential,
    TimelinePoint,
    VariantOut,
    VariantResult,
)
from service.storage.experiments import Tallies

EPOCH = date(1970, 1, 1)


def summary(e: Experiment) -> ExperimentSummary:
    shares = e.shares()
    return ExperimentSummary(
        id=e.id,
        status="running" if e.running else "stopped",
        started=_iso(e.started_ms),
        stopped=_iso(e.stopped_ms) if e.stopped_ms is not None else None,
        variants=[
            VariantOut(name=v.name, version=v.version, policy=v.policy, weight=v.weight, share=shares[v.name])
            for v in e.variants
        ],
        alpha=e.alpha,
        mixture_sd=e.mixture_sd,
        description=e.description,
    )


def results(e: Experiment, t: Tallies, today: int) -> ExperimentResults:
    """`today`: days since the epoch of the last look (the timeline runs from the start to it)."""
    variants = [variant_result(name, t) for name in e.variant_names]
    control = e.control.name
    comparisons = [compare(e, t, name, control, today) for name in e.variant_names[1:]]
    srm = online.sample_ratio_check({v.name: v.customers for v in variants}, e.shares())
    return ExperimentResults(
        experiment=summary(e),
        variants=variants,
        comparisons=comparisons,
        sample_ratio=SampleRatioOut(
            observed=srm.observed, expected_shares=srm.expected_shares, p_value=srm.p_value, mismatch=srm.mismatch
        ),
        timeline=timeline(e, t, today),
    )


def variant_result(name: str, t: Tallies) -> VariantResult:
    customers = len(t.exposed.get(name, {}))
    impressions, clicks = t.count(name, "impressions"), t.count(name, "clicks")
    purchases, returns = t.count(name, "purchases"), t.count(name, "returns")
    converted = len(t.converted.get(name, {}))
    revenue = t.count(name, "revenue_cents") / 100
    return VariantResult(
        name=name,
        customers=customers,
        impressions=impressions,
        clicks=clicks,
        click_through=_rate(clicks, impressions),
        purchases=purchases,
        converted_customers=converted,
        conversion=_rate(converted, customers),
        revenue=revenue,
        revenue_per_customer=_rate(revenue, customers),
        returns=returns,
        return_rate=_rate(returns, purchases),
    )


def compare(e: Experiment, t: Tallies, name: str, control: str, today: int) -> Comparison:
    n_a, n_b = len(t.exposed.get(control, {})), len(t.exposed.get(name, {}))
    c_a, c_b = len(t.converted.get(control, {})), len(t.converted.get(name, {}))
    conversion = sequential = None
    if n_a and n_b:
        d, var = online.proportion_difference(c_a, n_a, c_b, n_b)
        conversion = _difference(d, var, c_a / n_a)
        looks = _looks(e, t, name, control, today)
        if looks:
            look = looks[-1][1]
            sequential = Sequential(
                p_value=look.p_value, low=look.low, high=look.high, reject=look.reject, decision=_decision(look, name)
            )
    return Comparison(
        variant=name,
        against=control,
        conversion=conversion,
        revenue_per_customer=_revenue_difference(t, name, control),
        click_through=_ctr_difference(t, name, control),
        sequential=sequential,
    )


def _decision(look: online.SequentialLook, name: str) -> str:
    if not look.reject:
        return f"{name}: no decision yet, keep the experiment running"
    return f"{name} converts {'better' if look.difference > 0 else 'worse'} than the control"


def _difference(d: float, var: float, base: float) -> Difference:
    interval = online.fixed_interval(d, var)
    return Difference(estimate=d, low=interval.low, high=interval.high, relative=d / base if base else None)


def _revenue_difference(t: Tallies, name: str, control: str) -> Difference | None:
    sums = []
    for v in (control, name):
        n = len(t.exposed.get(v, {}))
        if n < 2:
            return None
        cents = [c / 100 for c in t.revenue.get(v, {}).values()]
        sums.append((sum(cents), sum(c * c for c in cents), n))
    (s_a, q_a, n_a), (s_b, q_b, n_b) = sums
    d, var = online.mean_difference(s_a, q_a, n_a, s_b, q_b, n_b)
    return _difference(d, var, s_a / n_a)


def _ctr_difference(t: Tallies, name: str, control: str) -> Difference | None:
    i_a, i_b = t.count(control, "impressions"), t.count(name, "impressions")
    if not (i_a and i_b):
        return None
    c_a, c_b = min(t.count(control, "clicks"), i_a), min(t.count(name, "clicks"), i_b)
    d, var = online.proportion_difference(c_a, i_a, c_b, i_b)
    return _difference(d, var, c_a / i_a)


def _looks(e: Experiment, t: Tallies, name: str, control: str, today: int) -> list[tuple[int, online.SequentialLook]]:
    """One look per day since the start (cumulative counts up to that day's end)."""
    start = e.started_ms // 86_400_000
    last = (e.stopped_ms // 86_400_000) if e.stopped_ms is not None else today
    days, estimates = [], []
    exposed = [_cumulative(t.exposed.get(v, {}), start, last) for v in (control, name)]
    converted = [_cumulative(t.converted.get(v, {}), start, last) for v in (control, name)]
    for n, day in enumerate(range(start, max(last, start) + 1)):
        counts = [exposed[0][n], exposed[1][n]]
        wins = [converted[0][n], converted[1][n]]
        if min(counts) < 2:
            continue
        d, var = online.proportion_difference(wins[0], counts[0], wins[1], counts[1])
        if var <= 0:
            continue
        days.append(day)
        estimates.append((d, var))
    return list(zip(days, online.sequential_looks(estimates, e.mixture_sd, e.alpha), strict=True))


def timeline(e: Experiment, t: Tallies, today: int) -> list[TimelinePoint]:
    control = e.control.name
    return [
        TimelinePoint(
            day=(EPOCH + timedelta(days=day)).isoformat(),
            variant=name,
            difference=look.difference,
            low=look.low,
            high=look.high,
            p_value=look.p_value,
        )
        for name in e.variant_names[1:]
        for day, look in _looks(e, t, name, control, today)
    ]


def _cumulative(days: dict[str, int], start: int, last: int) -> list[int]:
    """Customers whose day is at or before each day from `start` to `last` (earlier days count
    on the first)."""
    per_day = Counter(min(max(d, start), max(last, start)) for d in days.values())
    return list(itertools.accumulate(per_day.get(day, 0) for day in range(start, max(last, start) + 1)))


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
