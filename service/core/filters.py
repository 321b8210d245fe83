"""The request-time rules every list passes through: catalog rules, `exclude` and `category`,
then the business rules active for the list (`models.rules.business`: pin, boost, bury, block,
diversity), which never override the others.

Written once and used by `/recommend`, the personal store, similar items and segment offers,
so no surface can promise an item another surface would refuse. Titles and prices come from
the catalog here too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from models.rules import business
from models.rules.business import NO_RULES, ListRules
from models.rules.catalog import Catalog


def today() -> date:
    """The day catalog rules are checked against (UTC): an item whose `available_from` is
    tomorrow appears tomorrow, without retraining."""
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class ItemFilter:
    catalog: Catalog
    day: date
    exclude: frozenset[str] = frozenset()
    category: str | None = None
    business: ListRules = NO_RULES  # the business rules active for this list

    @classmethod
    def of(
        cls,
        catalog: Catalog,
        exclude: Collection[str] | None = None,
        category: str | None = None,
        day: date | None = None,
        business: ListRules = NO_RULES,
    ) -> ItemFilter:
        folded = category.casefold() if category else None
        return cls(catalog, day or today(), frozenset(exclude or ()), folded, business)

    def pick(
        self, ranked: Sequence[str], k: int, also: Callable[[str], bool] | None = None, inject: bool = False
    ) -> list[str]:
        """The first `k` of `ranked` these rules allow (and `also`, the surface's own: not shown
        earlier on the page, not bought...), with the business rules applied; `inject`: pinned
        items may join the list (a customer's recommendations)."""
        allowed = self.allows if also is None else (lambda i: self.allows(i) and also(i))
        return business.apply(ranked, k, allowed, self.category_of, self.business, inject)

    def category_of(self, item_id: str) -> str | None:
        entry = self.catalog.get(item_id)
        return entry.category if entry else None

    def allows(self, item_id: str) -> bool:
        """In the catalog, deliverable today, not excluded, and in the requested category."""
        entry = self.catalog.get(item_id)
        if entry is None or not entry.offerable(self.day) or item_id in self.exclude:
            return False
        return self.category is None or (entry.category or "").casefold() == self.category

    def title(self, item_id: str) -> str:
        entry = self.catalog.get(item_id)
        return entry.title if entry else item_id

    def price(self, item_id: str) -> float | None:
        entry = self.catalog.get(item_id)
        return entry.price if entry else None

    def extras(self, item_id: str) -> dict[str, str]:
        """`image_url`, `url`, `currency` where the catalog has them (see `CatalogItem.extras`)."""
        entry = self.catalog.get(item_id)
        return entry.extras() if entry else {}
