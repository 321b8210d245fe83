"""Which model version answers are coming from, and how old it is, for `/metrics`.

Resolved at scrape time (one GET of the active version and its manifest document): with Redis
that is the published `mo:{ctl}:current`, which a publish or rollback changes without this process
doing anything; while Redis is down, the in-process fallback's version.
"""

from __future__ import annotations

from datetime import UTC, datetime

from models import contract
from models.contract.documents import MANIFEST
from service.observability.metrics import Metrics
from service.storage.fallback import Stores
from service.storage.stores import OfferStore, StoreUnavailableError


async def refresh_model_metrics(stores: Stores, metrics: Metrics) -> None:
    for store in (stores.primary, stores.fallback):
        if store is None:
            continue
        try:
            found = await _served(store)
        except StoreUnavailableError:
            continue
        if found is not None:
            version, manifest = found
            metrics.set_served_model(version, epoch_s(manifest.get("created_at")), epoch_s(manifest.get("data_end")))
            return


async def _served(store: OfferStore) -> tuple[str, dict[str, object]] | None:
    version = await store.active_version()
    if version is None:
        return None
    raw = await store.document(version, MANIFEST)
    manifest = contract.decode_json(raw) if raw else {}
    return version, manifest if isinstance(manifest, dict) else {}


def epoch_s(text: object) -> float | None:
    """A manifest time (ISO-8601; naive = UTC, as training writes data_end) as epoch seconds."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
