"""Numbers as the preview prints them (Jinja filters): thousands separators, shares as percent,
prices with two decimals, evaluation figures with a few significant digits."""

from __future__ import annotations

from datetime import date, datetime

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from models.rules.wording import ago, duration

DASH = "–"


def count(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


def percent(value: float | None, digits: int = 0) -> str:
    return DASH if value is None else f"{value:.{digits}%}"


def price(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$"}  # unambiguous before the number; others follow it as a code


def price_in(value: float | None, currency: str | None) -> str:
    """A price with its currency: "£2.55" for the pound (and the dollar), "2.55 EUR" for other
    codes, the bare number without a currency."""
    if value is None or currency is None:
        return price(value)
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


@pass_context
def money(context: Context, value: float | None, currency: str | None = None) -> str:
    """`price_in` with the item's own currency, else the shop's (`MICROOFFERS_CATALOG_CURRENCY`)."""
    request = context.get("request")
    fallback = request.app.state.settings.catalog_currency if request is not None else None
    return price_in(value, currency or fallback)


def figure(value: object) -> str:
    """An evaluation cell: numbers to 3 significant decimals, anything else as text."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return DASH
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else value.isoformat()


def days(value: float | None) -> str:
    return DASH if value is None else duration(value)


def days_ago(value: float | None) -> str:
    return DASH if value is None else ago(value)


def label(name: str) -> str:
    """Identifiers as words: "at_risk" -> "at risk", "buy_again" -> "buy again"."""
    return name.replace("_", " ")


def product(title: str) -> str:
    """Shouting catalog titles ("WHITE HANGING HEART T-LIGHT HOLDER") in sentence case; titles
    with any lower-case letter are the shop's own spelling and stay as they are."""
    return title[:1] + title[1:].lower() if title.isupper() else title


def p_value(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def install_filters(env: Environment) -> None:
    env.filters.update(
        count=count,
        percent=percent,
        price=price,
        money=money,
        figure=figure,
        day=day,
        days=days,
        days_ago=days_ago,
        label=label,
        product=product,
        p_value=p_value,
    )
