"""Statistics of online experiments: differences with confidence intervals, an always-valid
sequential test, and the sample-ratio-mismatch check. Pure functions over counts.

The sequential test is the mixture sequential probability ratio test (mSPRT) with a normal
mixture of Johari, Pekelis and Walsh (2017, "Always valid inference: bringing sequential
analysis to A/B testing"). For an estimated difference `d` with variance `s2` and a normal
prior N(0, tau^2) on the true difference, the likelihood ratio against "no difference" is

    L = sqrt(s2 / (s2 + tau2)) * exp(tau2 * d^2 / (2 * s2 * (s2 + tau2)))

(with n per arm and per-observation variance V, s2 = V/n gives the paper's form). Under the
null, L is a non-negative martingale, so P(L ever reaches 1/alpha) <= alpha (Ville): rejecting
when it does keeps the false-positive rate at alpha however often one looks. The always-valid
p-value is the running minimum of 1/L, and the confidence sequence, every theta0 whose L(theta0)
stays below 1/alpha, is intersected over the looks so far.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

Z95 = 1.959963984540054
SRM_ALPHA = 0.001  # a split this unlikely under the intended shares is a bug, not bad luck


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def proportion_difference(successes_a: int, n_a: int, successes_b: int, n_b: int) -> tuple[float, float]:
    """B's rate minus A's and the (Wald) variance of that difference."""
    pa, pb = successes_a / n_a, successes_b / n_b
    return pb - pa, pa * (1 - pa) / n_a + pb * (1 - pb) / n_b


def mean_difference(
    sum_a: float, sum_sq_a: float, n_a: int, sum_b: float, sum_sq_b: float, n_b: int
) -> tuple[float, float]:
    """B's mean minus A's and the (Welch) variance of that difference, from sums."""
    mean_a, mean_b = sum_a / n_a, sum_b / n_b
    var_a = max(sum_sq_a / n_a - mean_a**2, 0.0) * n_a / max(n_a - 1, 1)
    var_b = max(sum_sq_b / n_b - mean_b**2, 0.0) * n_b / max(n_b - 1, 1)
    return mean_b - mean_a, var_a / n_a + var_b / n_b


def fixed_interval(difference: float, variance: float, z: float = Z95) -> Interval:
    """The usual 95% interval: valid for one look at a sample size fixed in advance."""
    half = z * math.sqrt(variance)
    return Interval(difference, difference - half, difference + half)


def msprt_ratio(difference: float, variance: float, tau: float, theta0: float = 0.0) -> float:
    """The normal-mixture likelihood ratio of "the difference is not theta0" (module docstring)."""
    if variance <= 0:
        return 1.0
    tau2 = tau * tau
    exponent = tau2 * (difference - theta0) ** 2 / (2 * variance * (variance + tau2))
    return math.sqrt(variance / (variance + tau2)) * math.exp(min(exponent, 700.0))


def msprt_half_width(variance: float, tau: float, alpha: float) -> float:
    """Half the width of the set of theta0 with ratio below 1/alpha, around the estimate."""
    if variance <= 0:
        return math.inf
    tau2 = tau * tau
    log_bound = math.log(1 / alpha) + 0.5 * math.log((variance + tau2) / variance)
    return math.sqrt(2 * variance * (variance + tau2) / tau2 * log_bound)


@dataclass(frozen=True)
class SequentialLook:
    """The test after one more look: the always-valid p-value and interval so far."""

    difference: float
    p_value: float  # always valid: min over the looks of 1/ratio
    low: float  # the confidence sequence, intersected over the looks
    high: float
    reject: bool


def sequential_looks(looks: Sequence[tuple[float, float]], tau: float, alpha: float) -> list[SequentialLook]:
    """The mSPRT over successive (difference, variance) estimates of one experiment."""
    out: list[SequentialLook] = []
    p, low, high = 1.0, -math.inf, math.inf
    for difference, variance in looks:
        p = min(p, 1 / msprt_ratio(difference, variance, tau))
        half = msprt_half_width(variance, tau, alpha)
        low, high = max(low, difference - half), min(high, difference + half)
        if low > high:  # the intersection ran empty: only possible after a rejection; keep the last
            low = high = difference
        out.append(SequentialLook(difference, p, low, high, p <= alpha))
    return out


@dataclass(frozen=True)
class SampleRatio:
    observed: dict[str, int]
    expected_shares: dict[str, float]
    p_value: float
    mismatch: bool


def sample_ratio_check(observed: Mapping[str, int], shares: Mapping[str, float]) -> SampleRatio:
    """Pearson's chi-square of the customers per variant against the intended shares."""
    names = list(shares)
    counts = [observed.get(n, 0) for n in names]
    total = sum(counts)
    if total == 0:
        return SampleRatio(dict(zip(names, counts)), dict(shares), 1.0, False)
    expected = [shares[n] * total for n in names]
    p = float(stats.chisquare(counts, expected).pvalue)
    return SampleRatio(dict(zip(names, counts)), dict(shares), p, p < SRM_ALPHA)
