"""Pick up a newly published model without a restart: `POST /admin/reload` or a polling watch.

The target is the version to serve from the artifacts directory: with Redis, the one Redis
serves (`mo:{ctl}:current`, so after a publish or a `rollback` the in-process fallback and the fold-in
factors follow it), else the newest complete version. The new artifact is loaded and the new
stores built in a worker thread while requests keep being answered by the old ones, then one
reference is swapped (`service.serving.install`). A version that fails to load leaves the old
one serving; the watch reports it once, not on every poll.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.contract.artifact import (
    MANIFEST,
    ArtifactCorruptError,
    ArtifactNotFoundError,
    artifacts_root,
    load_artifact,
    resolve_version_dir,
)
from service.core.deny_list import DenyList
from service.observability.metrics import Metrics
from service.serving import Serving, install, next_serving
from service.settings import Settings
from service.storage.stores import RedisStore, StoreUnavailableError

log = logging.getLogger(__name__)


class ReloadError(RuntimeError):
    """The target version could not be loaded; the previous one is still serving."""


@dataclass(frozen=True)
class Reload:
    previous: str | None
    version: str
    changed: bool


class Reloader:
    def __init__(self, settings: Settings, deny: DenyList, metrics: Metrics) -> None:
        self.settings, self.deny, self.metrics = settings, deny, metrics
        self._lock = asyncio.Lock()
        self._failed: dict[Path, str] = {}  # version dir -> why it did not load (reported once)

    async def reload(self, state: Any) -> Reload:
        """Serve the target version if it is not the one loaded. One reload at a time."""
        async with self._lock:
            current: Serving = state.serving
            target = await self.target(current)
            if target is None or _same(current, target):
                version = current.loaded_version or (target.name if target else None)
                if version is None:
                    raise ReloadError(f"no artifact to load at {self.settings.artifacts}")
                return Reload(current.loaded_version, version, changed=False)
            forgotten_now = frozenset(self.deny.ids)
            try:
                artifact = await asyncio.to_thread(load_artifact, target)
                serving = await asyncio.to_thread(next_serving, current, artifact, forgotten_now, self.deny.ids)
            except (ArtifactNotFoundError, ArtifactCorruptError) as exc:
                self.metrics.reloads.labels("failed").inc()
                self._failed[target] = str(exc)
                raise ReloadError(f"{exc}; still serving {current.loaded_version}") from exc
            install(state, serving)
            for customer_id in self.deny.ids - forgotten_now:  # forgotten while the new one was built
                serving.forget_in_process(customer_id)
            self._failed.pop(target, None)
            self.metrics.reloads.labels("reloaded").inc()
            self.metrics.set_loaded_model(artifact.version)
            log.info("reloaded model %s (was %s)", artifact.version, current.loaded_version)
            return Reload(current.loaded_version, artifact.version, changed=True)

    async def target(self, current: Serving) -> Path | None:
        """The version directory to serve, or None to keep the current one (Redis unreachable:
        its choice is unknown, and flapping to the newest on disk would not help)."""
        configured = self.settings.artifacts
        if (configured / MANIFEST).is_file():
            return configured  # pinned to one version
        primary = current.stores.primary
        if isinstance(primary, RedisStore):
            try:
                served = await primary.active_version()
            except StoreUnavailableError:
                return None
            candidate = artifacts_root(configured) / served if served else None
            if candidate is not None and (candidate / MANIFEST).is_file():
                return candidate
        try:
            return resolve_version_dir(configured)
        except ArtifactNotFoundError:
            return None

    async def watch(self, state: Any, interval_s: float) -> None:
        """Poll forever (cancelled at shutdown): customers other workers forgot (deny-list file
        and Redis set), then a new target version."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self._tick(state)
            except ReloadError as exc:
                log.debug("reload watch: %s", exc)
            except Exception:  # the watch must outlive any one bad poll
                log.exception("reload watch: poll failed")

    async def _tick(self, state: Any) -> None:
        for customer_id in self.deny.refresh_file() | await self.deny.refresh_redis():
            state.serving.forget_in_process(customer_id)
        target = await self.target(state.serving)
        if target is None or _same(state.serving, target):
            return
        if target in self._failed:
            return  # reported when it failed; a new version or POST /admin/reload tries again
        try:
            await self.reload(state)
        except ReloadError as exc:
            log.error("reload watch: %s", exc)


def _same(current: Serving, target: Path) -> bool:
    path = current.artifact.path if current.artifact is not None else None
    return path is not None and path.resolve() == target.resolve()
