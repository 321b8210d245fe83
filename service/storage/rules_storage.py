"""Where business rules (`models.rules.business`) and their audit log are kept: in Redis when the
service reads from Redis, else in files beside the artifacts. Both keep the rules outside every
model version (they change without retraining or publishing) and commit a change only if nobody
changed the rules since it was read (compare-and-set on the revision), writing its audit entry
in the same step: no change without its entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import redis.asyncio as aioredis

from models import contract
from models.rules.business import EMPTY_RULES, RuleSet
from service.storage.guard import RedisGuard, StoreUnavailableError

RULES_FILE, AUDIT_FILE = "rules.json", "audit.jsonl"


class RuleStorage(Protocol):
    kind: str

    async def revision(self) -> int:
        """The stored revision (cheap: what every worker polls)."""
        ...

    async def load(self) -> RuleSet: ...

    async def commit(self, expected: int, rules: RuleSet, entry: dict[str, Any]) -> bool:
        """Store `rules` and append `entry` if the stored revision is still `expected`."""
        ...

    async def audit(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` audit entries, newest first."""
        ...


def rules_dir(artifacts_root: Path) -> Path:
    return artifacts_root / "rules"


# KEYS: rules, revision, audit; ARGV: expected revision, rules document, new revision, audit entry
_COMMIT = """
local rev = tonumber(redis.call('GET', KEYS[2]) or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[4])
return 1
"""


class RedisRules:
    kind = "redis"

    def __init__(self, client: aioredis.Redis, guard: RedisGuard) -> None:
        self.client, self.guard = client, guard
        self._commit = client.register_script(_COMMIT)

    async def revision(self) -> int:
        raw = await self.guard(self.client.get(contract.RULES_REVISION_KEY))
        return int(raw) if raw else 0

    async def load(self) -> RuleSet:
        raw = await self.guard(self.client.get(contract.RULES_KEY))
        return RuleSet.from_json(json.loads(raw)) if raw else EMPTY_RULES

    async def commit(self, expected: int, rules: RuleSet, entry: dict[str, Any]) -> bool:
        keys = [contract.RULES_KEY, contract.RULES_REVISION_KEY, contract.RULES_AUDIT_KEY]
        args: list[str | int] = [expected, json.dumps(rules.to_json()), rules.revision, json.dumps(entry)]
        return bool(await self.guard(self._commit(keys=keys, args=args)))

    async def audit(self, limit: int) -> list[dict[str, Any]]:
        raw = await self.guard(self.client.lrange(contract.RULES_AUDIT_KEY, -limit, -1))
        return [json.loads(r) for r in reversed(raw)]


class FileRules:
    """`rules.json` (replaced atomically) and `audit.jsonl` (appended and synced) in one directory,
    changed under a file lock, so several workers on one machine share them."""

    kind = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rules_path, self.audit_path = directory / RULES_FILE, directory / AUDIT_FILE

    async def revision(self) -> int:
        return (await self.load()).revision

    async def load(self) -> RuleSet:
        return await asyncio.to_thread(self._read)

    async def commit(self, expected: int, rules: RuleSet, entry: dict[str, Any]) -> bool:
        return await asyncio.to_thread(self._commit, expected, rules, entry)

    async def audit(self, limit: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._audit, limit)

    def _read(self) -> RuleSet:
        try:
            return RuleSet.from_json(json.loads(self.rules_path.read_text()))
        except FileNotFoundError:
            return EMPTY_RULES
        except (OSError, ValueError) as exc:
            raise StoreUnavailableError(f"rules file {self.rules_path} unreadable: {exc}") from exc

    def _commit(self, expected: int, rules: RuleSet, entry: dict[str, Any]) -> bool:
        try:
            with self._locked():
                if self._read().revision != expected:
                    return False
                _append_line(self.audit_path, json.dumps(entry))  # the entry first: no change unaudited
                tmp = self.rules_path.with_suffix(".tmp")
                with tmp.open("w") as f:
                    json.dump(rules.to_json(), f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.rules_path)
                return True
        except OSError as exc:
            raise StoreUnavailableError(f"rules in {self.directory} not writable: {exc}") from exc

    def _audit(self, limit: int) -> list[dict[str, Any]]:
        try:
            lines = self.audit_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in reversed(lines[-limit:]) if line.strip()]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _append_line(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
