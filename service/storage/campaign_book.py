"""Where marketers' campaigns are kept: outside every model version (a campaign outlives
publishes and reloads), in the Redis hash `mo:campaigns` when the service reads Redis, else in
`campaigns/campaigns.json` beside the artifact versions (rewritten atomically: temp file, fsync,
rename).

One interface, two books, the same tests against both.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import orjson
import redis.asyncio as aioredis

from models import contract
from models.contract.artifact import artifacts_root
from service.http.schemas import CampaignOut
from service.settings import Settings
from service.storage.guard import RedisGuard, StoreUnavailableError
from service.storage.stores import OfferStore, RedisStore


class CampaignBook(ABC):
    @abstractmethod
    async def all(self) -> list[CampaignOut]:
        """Every campaign, newest first."""

    @abstractmethod
    async def get(self, campaign_id: str) -> CampaignOut | None: ...

    @abstractmethod
    async def add(self, campaign: CampaignOut) -> None: ...

    @abstractmethod
    async def delete(self, campaign_id: str) -> bool:
        """True if it was there."""


def open_campaign_book(settings: Settings, store: OfferStore) -> CampaignBook:
    """Redis' book when the service reads Redis (the store's client and guard: one Redis, one
    breaker), else the file (`MICROOFFERS_CAMPAIGNS_FILE`, default beside the versions)."""
    if isinstance(store, RedisStore):
        return RedisCampaignBook(store.client, store.guard)
    default = artifacts_root(settings.artifacts) / "campaigns" / "campaigns.json"
    return FileCampaignBook(settings.campaigns_file or default)


def _newest_first(campaigns: list[CampaignOut]) -> list[CampaignOut]:
    return sorted(campaigns, key=lambda c: (c.created_at, c.id), reverse=True)


class RedisCampaignBook(CampaignBook):
    def __init__(self, client: aioredis.Redis, guard: RedisGuard | None = None) -> None:
        self.client, self.guard = client, guard or RedisGuard()

    async def all(self) -> list[CampaignOut]:
        raw = await self.guard(self.client.hvals(contract.CAMPAIGNS_KEY))
        return _newest_first([CampaignOut.model_validate_json(v) for v in raw])

    async def get(self, campaign_id: str) -> CampaignOut | None:
        raw = await self.guard(self.client.hget(contract.CAMPAIGNS_KEY, campaign_id))
        return None if raw is None else CampaignOut.model_validate_json(raw)

    async def add(self, campaign: CampaignOut) -> None:
        await self.guard(self.client.hset(contract.CAMPAIGNS_KEY, campaign.id, campaign.model_dump_json()))

    async def delete(self, campaign_id: str) -> bool:
        return bool(await self.guard(self.client.hdel(contract.CAMPAIGNS_KEY, campaign_id)))


class FileCampaignBook(CampaignBook):
    """The embedded store's book: one JSON file, read at start, rewritten whole on each change
    (campaigns are few). One worker, as the embedded store's event log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._campaigns: dict[str, CampaignOut] = {}
        if path.exists():
            for record in orjson.loads(path.read_bytes()):
                campaign = CampaignOut.model_validate(record)
                self._campaigns[campaign.id] = campaign

    async def all(self) -> list[CampaignOut]:
        return _newest_first(list(self._campaigns.values()))

    async def get(self, campaign_id: str) -> CampaignOut | None:
        return self._campaigns.get(campaign_id)

    async def add(self, campaign: CampaignOut) -> None:
        async with self._lock:
            await self._save({**self._campaigns, campaign.id: campaign})

    async def delete(self, campaign_id: str) -> bool:
        async with self._lock:
            if campaign_id not in self._campaigns:
                return False
            await self._save({k: v for k, v in self._campaigns.items() if k != campaign_id})
            return True

    async def _save(self, campaigns: dict[str, CampaignOut]) -> None:
        """Durable first, then visible: a failed write changes nothing (503)."""
        body = orjson.dumps([c.model_dump(mode="json") for c in campaigns.values()], option=orjson.OPT_INDENT_2)
        try:
            await asyncio.to_thread(_write_atomically, self.path, body)
        except OSError as exc:
            raise StoreUnavailableError(f"campaigns file {self.path} not writable: {exc}") from exc
        self._campaigns = campaigns


def _write_atomically(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".campaigns-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
