"""Where the service reads offers from: one interface, two implementations.

`RedisStore` reads what `microoffers publish` wrote (the production path). `EmbeddedStore`
serves the same answers straight from an artifact in process memory, so `make demo` needs no
Redis server; it encodes through the same `models.contract` functions, so both stores answer
alike by construction, and the same API tests run against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from functools import lru_cache

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from models import contract
from models.contract import Offer, documents
from models.contract.artifact import Artifact
from models.contract.documents import customer_documents, shared_documents
from models.contract.store_documents import segment_doc, segment_of_store_document, segment_without_customer
from models.rules.catalog import Catalog, CatalogItem, catalog_from_frame
from service.storage import redis_client
from service.storage.guard import RedisGuard, StoreUnavailableError

LookupCounter = Callable[[str, bool], None]  # (store kind, customer document found)


PERSONAL_CACHE_SIZE = 50_000  # customers whose encoded documents the embedded store keeps


def _customer_of(name: str) -> str | None:
    """The customer a per-customer document (`c:<id>` or `store:<id>`) is about, else None."""
    for prefix in documents.personal_documents(""):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return None


class OfferStore(ABC):
    kind: str
    count_lookup: LookupCounter | None = None  # set by the app: cache hits and misses for /metrics

    @abstractmethod
    async def active_version(self) -> str | None: ...

    @abstractmethod
    async def document(self, version: str, name: str) -> bytes | None:
        """One published document of `version` (names in `models.contract.documents`), None if absent."""

    async def customer_offers(self, version: str, customer_id: str) -> list[Offer] | None:
        """The customer's precomputed candidates, or None for a customer the version does not know."""
        raw = await self.document(version, documents.customer_doc(customer_id))
        if self.count_lookup is not None:
            self.count_lookup(self.kind, raw is not None)
        return contract.decode_offers(raw) if raw else None

    @abstractmethod
    async def held_versions(self) -> list[str]:
        """Every version whose documents this store holds (served, previous, being written)."""

    async def customer_documents(self, customer_id: str) -> dict[str, dict[str, bytes]]:
        """Version -> the customer's own documents in it (privacy export)."""
        found: dict[str, dict[str, bytes]] = {}
        for version in await self.held_versions():
            for name in documents.personal_documents(customer_id):
                raw = await self.document(version, name)
                if raw is not None:
                    found.setdefault(version, {})[name] = raw
        return found

    @abstractmethod
    async def forget(self, customer_id: str) -> int:
        """Remove the customer's documents from every held version, and them from segment
        samples; returns how many documents were removed."""

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
    """The documents a publish would write (see `models.contract.documents`), served from the artifact
    in process memory. Shared documents are built once; a customer's own documents are built
    when first asked for and kept in a bounded cache, so start-up does not encode every customer
    (a million of them, when this store is the Redis fallback)."""

    kind = "embedded"

    def __init__(self, artifact: Artifact, forgotten: Iterable[str] = ()) -> None:
        """`forgotten` customers (the deny list) are left out, even if the artifact has them."""
        self.artifact = artifact
        self._shared = dict(shared_documents(artifact))
        self._catalog = catalog_from_frame(artifact.catalog)
        self._forgotten: set[str] = set()
        self._personal = lru_cache(maxsize=PERSONAL_CACHE_SIZE)(self._build_personal)
        for customer_id in forgotten:
            self.forget_now(customer_id)

    async def active_version(self) -> str | None:
        return self.artifact.version

    async def document(self, version: str, name: str) -> bytes | None:
        if version != self.artifact.version:
            return None
        if name in self._shared:
            return self._shared[name]
        customer_id = _customer_of(name)
        if customer_id is None or customer_id in self._forgotten:
            return None
        return self._personal(customer_id).get(name)

    def _build_personal(self, customer_id: str) -> dict[str, bytes]:
        row = self.artifact.customers.row(customer_id)
        if row is None:
            return {}
        return dict(customer_documents(self.artifact, customers=range(row, row + 1)))

    async def held_versions(self) -> list[str]:
        return [self.artifact.version]

    async def forget(self, customer_id: str) -> int:
        return self.forget_now(customer_id)

    def forget_now(self, customer_id: str) -> int:
        if customer_id in self._forgotten:
            return 0
        held = self._personal(customer_id)
        self._forgotten.add(customer_id)
        store_raw = held.get(documents.personal_documents(customer_id)[1])
        segment = segment_of_store_document(store_raw) if store_raw else None
        if segment is not None and (raw := self._shared.get(segment_doc(segment))) is not None:
            scrubbed = segment_without_customer(raw, customer_id)
            if scrubbed is not None:
                self._shared[segment_doc(segment)] = scrubbed
        return len(held)

    async def catalog(self, version: str) -> Catalog:
        return self._catalog

    async def ping(self) -> bool:
        return True


class RedisStore(OfferStore):
    """Async, pooled; per-version data that never changes (catalog, popularity) is cached."""

    kind = "redis"

    def __init__(self, url: str, timeout_s: float = 0.25, pool_size: int = 64) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.client = redis_client.connect(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            max_connections=pool_size,
            retry=Retry(NoBackoff(), 0),  # fail fast: the breaker and the fallback handle outages
        )
        # every Redis call of this service (live state, deny list, hot path too) goes through this guard
        self.guard = RedisGuard()
        self._catalogs: dict[str, Catalog] = {}
        self._popular: dict[str, list[Offer]] = {}

    async def active_version(self) -> str | None:
        raw = await self.guard(self.client.get(contract.CURRENT_KEY))
        return raw.decode() if raw else None

    async def document(self, version: str, name: str) -> bytes | None:
        return await self.guard(self.client.get(contract.document_key(version, name)))  # type: ignore[no-any-return]

    async def popular_offers(self, version: str) -> list[Offer]:
        if version not in self._popular:
            self._popular = {version: await super().popular_offers(version)}
        return self._popular[version]

    async def catalog(self, version: str) -> Catalog:
        if version not in self._catalogs:
            raw = await self.guard(self.client.get(contract.catalog_key(version)))
            if raw is None:
                raise StoreUnavailableError(f"version {version} has no catalog")
            entries = contract.decode_json(raw)
            assert isinstance(entries, dict)
            self._catalogs = {version: {k: CatalogItem.from_json(v) for k, v in entries.items()}}
        return self._catalogs[version]

    async def ping(self) -> bool:
        try:
            return bool(await self.guard(self.client.ping()))
        except StoreUnavailableError:
            return False

    async def held_versions(self) -> list[str]:
        """Current, previous, the recent ones, any being written, and older ones whose keys are
        expiring (see `training.publish.expire_old_versions`): never served, but they still hold
        documents until they expire, so an erasure and an export must reach them."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(contract.CURRENT_KEY)
        pipe.get(contract.PREVIOUS_KEY)
        pipe.lrange(contract.VERSIONS_KEY, 0, -1)
        pipe.smembers(contract.PENDING_KEY)
        pipe.smembers(contract.EXPIRING_KEY)
        current, previous, recent, pending, expiring = await self.guard(pipe.execute())
        names = [current, previous, *recent, *sorted(pending), *sorted(expiring)]
        return list(dict.fromkeys(raw.decode() for raw in names if raw))

    async def forget(self, customer_id: str) -> int:
        removed = 0
        for version in await self.held_versions():
            keys = [contract.document_key(version, name) for name in documents.personal_documents(customer_id)]
            store_raw = await self.guard(self.client.get(keys[1]))
            removed += await self.guard(self.client.delete(*keys))
            segment = segment_of_store_document(store_raw) if store_raw else None
            if segment is not None:
                key = contract.document_key(version, segment_doc(segment))
                await self.guard(self._scrub_segment(key, customer_id))
        await self.guard(self.client.incr(contract.ERASURES_KEY))
        return removed

    async def _scrub_segment(self, key: str, customer_id: str) -> None:
        """Take the customer out of a segment's sample (optimistic transaction: two customers of
        one segment forgotten at once both stay out)."""
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    scrubbed = segment_without_customer(raw, customer_id) if raw else None
                    if scrubbed is None:
                        return
                    pipe.multi()
                    pipe.set(key, scrubbed, keepttl=True)
                    await pipe.execute()
                    return
                except aioredis.WatchError:
                    continue

    async def close(self) -> None:
        await self.client.aclose()
