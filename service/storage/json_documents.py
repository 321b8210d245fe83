"""Reading a published JSON document (see `models.contract.store_documents`) as a dict."""

from __future__ import annotations

from typing import Any

from models import contract
from service.storage.stores import OfferStore, StoreUnavailableError


async def json_document(store: OfferStore, version: str, name: str) -> dict[str, Any] | None:
    raw = await store.document(version, name)
    if raw is None:
        return None
    value = contract.decode_json(raw)
    if not isinstance(value, dict):
        raise StoreUnavailableError(f"document {name} of version {version} is not a JSON object")
    return value
