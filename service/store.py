"""Where the service reads offers from: one interface, two implementations.

`RedisStore` reads what `microoffers publish` wrote (the production path). `EmbeddedStore`
serves the same answers straight from an artifact in process memory, so `make demo` needs no
Redis server; it encodes through the same `models.contract` functions, so both stores answer
alike by construction, and the same API tests run against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from models import contract, documents
from models.artifact import Artifact
from models.catalog import Catalog, CatalogItem, catalog_from_frame
from models.contract import Offer
from models.documents import all_documents
from service.breaker import CircuitBreaker, CircuitOpenError


class StoreUnavailableError(RuntimeError):
    """The store could not be read (down, slow, or holds no published version)."""


class OfferStore(ABC):
    kind: str

    @abstractmethod
    async def active_version(self) -> str | None: ...

    @abstractmethod
    async def document(self, version: str, name: str) -> bytes | None:
        """One published document of `version` (names in `models.documents`), None if absent."""

    async def customer_offers(self, version: str, customer_id: str) -> list[Offer] | None:
        """The customer's precomputed candidates, or None for a customer the version does not know."""
        raw = await self.document(version, documents.customer_doc(customer_id))
        return contract.decode_offers(raw) if raw else None

    async def popular_offers(self, version: str) -> list[Offer]:
        raw = await self.document(version, documents.POPULAR)
        if raw is None:
            raise StoreUnavailableError(f"version {version} has no popularity list")
        return contract.decode_offers(raw)

    @abstractmethod
    async def catalog(self, version: str) -> Catalog: ...

    @abstractmethod
    async def ping(self) -> bool: ...

    async def close(self) -> None:
        return None


class EmbeddedStore(OfferStore):
    """The documents a publish would write, held in a dict (see `models.documents`)."""

    kind = "embedded"

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self._documents = dict(all_documents(artifact))
        self._catalog = catalog_from_frame(artifact.catalog)

    async def active_version(self) -> str | None:
        return self.artifact.version

    async def document(self, version: str, name: str) -> bytes | None:
        return self._documents.get(name) if version == self.artifact.version else None

    async def catalog(self, version: str) -> Catalog:
        return self._catalog

    async def ping(self) -> bool:
        return True


class RedisStore(OfferStore):
    """Async, pooled; per-version data that never changes (catalog, popularity) is cached."""

    kind = "redis"

    def __init__(self, url: str, timeout_s: float = 0.25, pool_size: int = 64) -> None:
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            max_connections=pool_size,
            retry=Retry(NoBackoff(), 0),  # fail fast: the breaker and the fallback handle outages
        )
        self.breaker = CircuitBreaker()
        self._catalogs: dict[str, Catalog] = {}
        self._popular: dict[str, list[Offer]] = {}

    async def _call(self, coro):  # type: ignore[no-untyped-def]
        try:
            self.breaker.before_call()
        except CircuitOpenError as exc:
            coro.close()
            raise StoreUnavailableError(str(exc)) from exc
        try:
            result = await coro
        except (aioredis.RedisError, OSError) as exc:
            self.breaker.failure()
            raise StoreUnavailableError(f"redis: {exc}") from exc
        self.breaker.success()
        return result

    async def active_version(self) -> str | None:
        raw = await self._call(self.client.get(contract.CURRENT_KEY))
        return raw.decode() if raw else None

    async def document(self, version: str, name: str) -> bytes | None:
        return await self._call(self.client.get(contract.document_key(version, name)))  # type: ignore[no-any-return]

    async def popular_offers(self, version: str) -> list[Offer]:
        if version not in self._popular:
            self._popular = {version: await super().popular_offers(version)}
        return self._popular[version]

    async def catalog(self, version: str) -> Catalog:
        if version not in self._catalogs:
            raw = await self._call(self.client.get(contract.catalog_key(version)))
            if raw is None:
                raise StoreUnavailableError(f"version {version} has no catalog")
            entries = contract.decode_json(raw)
            assert isinstance(entries, dict)
            self._catalogs = {version: {k: CatalogItem.from_json(v) for k, v in entries.items()}}
        return self._catalogs[version]

    async def ping(self) -> bool:
        try:
            return bool(await self._call(self.client.ping()))
        except StoreUnavailableError:
            return False

    async def close(self) -> None:
        await self.client.aclose()
