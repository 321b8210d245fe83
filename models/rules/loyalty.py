"""Loyalty tiers from recency, frequency and spend (RFM), with the one line that explains them.

The frontend thanks and rewards by tier, so a tier must be explainable to the customer in one
sentence ("12 orders and 4,310 spent: among our top 5% customers"). Thresholds adapt to the
shop (percentiles of its own customers, computed at training time), because "VIP" means a
different spend for a wholesaler than for a corner shop. Everything here is pure.

A shop whose data has no prices (the price column absent or empty) has no spend to rank by:
every customer's spend is 0, and "top 5% by spend" would then be everyone with enough orders.
So tiers come from orders and recency alone there (`Thresholds.priced` is False, no `vip`),
and no `why` line mentions spend.

All durations are measured at the end of the training data (the artifact's `data_end`), the
same reference day as the buy-again rhythm, so a store never mixes two notions of "now".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.rules.replenishment import RHYTHM_MIN_OCCASIONS
from models.rules.wording import ago, duration, every

TIERS = ("new", "regular", "loyal", "vip", "at_risk")


@dataclass(frozen=True, slots=True)
class RFM:
    """One customer's history, measured at the end of the data."""

    recency_days: float  # since the latest order
    orders: int  # distinct orders (invoices)
    spend: float  # total spent
    tenure_days: float  # since the first order

    @property
    def usual_gap_days(self) -> float | None:
        """Mean days between orders, None for a single order."""
        return self.tenure_days / (self.orders - 1) if self.orders > 1 else None


@dataclass(frozen=True, slots=True)
class Thresholds:
    vip_spend: float  # top `vip_share` of spend among repeat customers
    loyal_orders: int  # this many orders or more = loyal
    vip_share: float = 0.05
    new_days: float = 90.0  # a single order younger than this = new customer
    at_risk_days: float = 90.0  # silent at least this long (and 3x their usual gap) = at risk
    priced: bool = True  # False: the data had no prices, so no tier or line is about spend

    def to_json(self) -> dict[str, float | bool]:
        return {
            "vip_spend": self.vip_spend,
            "loyal_orders": self.loyal_orders,
            "vip_share": self.vip_share,
            "new_days": self.new_days,
            "at_risk_days": self.at_risk_days,
            "priced": self.priced,
        }


def has_spend(spend: np.ndarray) -> bool:
    """Whether spend says anything: False when nobody spent anything, i.e. the data had no
    prices (missing prices count as 0 in the profiles)."""
    return bool(np.any(np.asarray(spend) > 0))


def thresholds_from(orders: np.ndarray, spend: np.ndarray, vip_share: float = 0.05) -> Thresholds:
    """Percentile thresholds of this shop: VIP = top 5% spend among repeat customers, loyal =
    the top quarter by number of orders (at least 3). Without any spend, no spend makes a VIP."""
    repeat = orders >= 2
    priced = has_spend(spend)
    vip_spend = float(np.quantile(spend[repeat], 1 - vip_share)) if repeat.any() and priced else float("inf")
    loyal_orders = max(3, int(np.ceil(np.quantile(orders, 0.75)))) if len(orders) else 3
    return Thresholds(vip_spend=round(vip_spend, 2), loyal_orders=loyal_orders, vip_share=vip_share, priced=priced)


def tier(rfm: RFM, th: Thresholds) -> str:
    """First matching rule wins: at risk, new, VIP, loyal, regular."""
    gap = rfm.usual_gap_days
    if rfm.orders <= 1:
        return "new" if rfm.recency_days < th.new_days else "at_risk"
    if rfm.recency_days >= max(th.at_risk_days, 3 * (gap or 0.0)):
        return "at_risk"
    if th.priced and rfm.spend >= th.vip_spend and rfm.orders >= th.loyal_orders:
        return "vip"
    if rfm.orders >= th.loyal_orders:
        return "loyal"
    return "regular"


def why(tier_name: str, rfm: RFM, vip_share: float = 0.05) -> str:
    """One line the frontend can show next to the tier."""
    orders = f"{rfm.orders} orders" if rfm.orders != 1 else "1 order"
    last = ago(rfm.recency_days)
    if tier_name == "vip":
        return f"{orders} and {rfm.spend:,.0f} spent: among our top {vip_share:.0%} customers (last order {last})"
    if tier_name == "at_risk":
        gap = rfm.usual_gap_days
        if gap is None:
            return f"one order, {last}: we would love to see you again"
        if rfm.orders < RHYTHM_MIN_OCCASIONS:  # one gap is no rhythm to say they "used to" keep
            return f"{orders}, the last {last}: we would love to see you again"
        return f"used to order {every(gap)}, but the last order was {last}"
    if tier_name == "new":
        return f"first order {ago(rfm.tenure_days)}: welcome!"
    if tier_name == "loyal":
        return f"{orders} over {duration(rfm.tenure_days)}, the last {last}: thank you for your loyalty"
    return f"{orders} over {duration(rfm.tenure_days)}, the last {last}"


UNKNOWN_CUSTOMER_WHY = "no orders yet: welcome!"
FIRST_ORDER_WHY = "first orders since our last update: welcome!"
