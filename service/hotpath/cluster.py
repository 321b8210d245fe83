"""The hot path's connection to a Redis Cluster, with `RespConnection`'s interface.

`execute(commands)` takes one tick's pipeline as if Redis were one server: it splits each
command by the slot owner of its keys (an `MGET` over customers of several shards becomes one
`MGET` per slot, a script goes to the node of its first key), sends every node its part as one
pipeline, all nodes at once, and puts the replies back in the original order. The slot map comes
from `CLUSTER SLOTS`; a `MOVED` or `ASK` reply or a node that cannot be reached makes it read the
map again (from any node that answers) and send the affected commands once more, so a failover
costs the requests in flight while no replica has taken over, not more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import Any

from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from models.contract.redis_url import node_url
from service.hotpath.resp import Command, RespConnection, RespError

SLOTS = 16384
Address = tuple[str, int]
REDIRECTS = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")


def _key(value: bytes | str | int) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class Part:
    """One command sent to one node: which original command it answers, and for a split
    `MGET` which of its keys (positions in the original's reply)."""

    __slots__ = ("command", "index", "positions")

    def __init__(self, command: Command, index: int, positions: list[int] | None) -> None:
        self.command, self.index, self.positions = command, index, positions


class ClusterConnection:
    def __init__(self, url: str, timeout_s: float) -> None:
        self.seed = RespConnection(node_url(url), timeout_s)
        self.timeout_s = timeout_s
        self.url = node_url(url)
        self.owners: list[Address] = []  # per slot: its primary
        self.nodes: dict[Address, RespConnection] = {}
        self._refreshing: asyncio.Lock | None = None

    def node_of(self, key: str) -> Hashable:
        """The primary serving `key` (the impressions writer groups a tick's customers by it)."""
        return self.owners[key_slot(key.encode())] if self.owners else None

    async def execute(self, commands: Sequence[Command]) -> list[Any]:
        """Every command's reply, in order; error replies come back as `RespError` values."""
        if not self.owners:
            await self.refresh()
        replies: list[Any] = [None] * len(commands)
        parts = [part for i, command in enumerate(commands) for part in self._split(command, i)]
        for _ in range(2):
            parts = await self._send(parts, replies)
            if not parts:
                return replies
            await self.refresh()
        raise ConnectionError(f"redis cluster: {len(parts)} commands not answered after reading the slot map again")

    def _split(self, command: Command, index: int) -> list[Part]:
        name = str(command[0]).upper()
        if name == "MGET" and len(command) > 2:
            by_slot: dict[int, list[int]] = {}
            for position, key in enumerate(command[1:]):
                by_slot.setdefault(key_slot(_key(key)), []).append(position)
            if len(by_slot) > 1:
                return [Part(("MGET", *(command[1 + p] for p in ps)), index, ps) for ps in by_slot.values()]
        return [Part(command, index, None)]

    def _address(self, command: Command) -> Address:
        name = str(command[0]).upper()
        if name in ("EVAL", "EVALSHA"):
            if int(command[2]) == 0:
                return self.owners[0]
            key = command[3]
        else:
            key = command[1]
        return self.owners[key_slot(_key(key))]

    async def _send(self, parts: list[Part], replies: list[Any]) -> list[Part]:
        """Each node its parts as one pipeline, concurrently; fills `replies`; returns the parts
        to send again after a refresh (redirected, or their node unreachable)."""
        by_node: dict[Address, list[Part]] = {}
        for part in parts:
            by_node.setdefault(self._address(part.command), []).append(part)
        nodes = list(by_node)
        results = await asyncio.gather(
            *(self._node(a).execute([p.command for p in by_node[a]]) for a in nodes), return_exceptions=True
        )
        again: list[Part] = []
        for address, result in zip(nodes, results):
            if isinstance(result, BaseException):
                if not isinstance(result, (TimeoutError, ConnectionError, OSError)):
                    raise result
                self.nodes.pop(address, None)
                again += by_node[address]
                continue
            for part, reply in zip(by_node[address], result):
                if isinstance(reply, RespError) and str(reply).startswith(REDIRECTS):
                    again.append(part)
                else:
                    self._fill(part, reply, replies)
        return again

    @staticmethod
    def _fill(part: Part, reply: Any, replies: list[Any]) -> None:
        if part.positions is None:
            replies[part.index] = reply
            return
        if isinstance(reply, RespError):
            replies[part.index] = reply
            return
        whole = replies[part.index]
        if whole is None:
            whole = replies[part.index] = []
        if isinstance(whole, list):
            for position, value in zip(part.positions, reply):
                if position >= len(whole):
                    whole.extend([None] * (position + 1 - len(whole)))
                whole[position] = value

    def _node(self, address: Address) -> RespConnection:
        connection = self.nodes.get(address)
        if connection is None:
            connection = self.nodes[address] = RespConnection(self._node_url(address), self.timeout_s)
        return connection

    def _node_url(self, address: Address) -> str:
        seed = self.seed
        auth = f"{seed.username or ''}:{seed.password}@" if seed.password is not None else ""
        return f"redis://{auth}{address[0]}:{address[1]}/0"

    async def refresh(self) -> None:
        """The slot map from the first node that answers (known primaries first, then the seed)."""
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            candidates = [*self.nodes.values(), self.seed]
            for connection in candidates:
                try:
                    (reply,) = await connection.execute([("CLUSTER", "SLOTS")])
                except (TimeoutError, ConnectionError, OSError):
                    continue
                if isinstance(reply, RespError):
                    continue
                self.owners = _owners(reply)
                return
            raise ConnectionError("no node of the redis cluster answered CLUSTER SLOTS")

    def close(self) -> None:
        self.seed.close()
        for connection in self.nodes.values():
            connection.close()
        self.nodes.clear()


def _owners(slots: list[Any]) -> list[Address]:
    owners: list[Address | None] = [None] * SLOTS
    for start, end, primary, *_replicas in slots:
        address = (primary[0].decode() if isinstance(primary[0], bytes) else primary[0], int(primary[1]))
        owners[start : end + 1] = [address] * (end - start + 1)
    if any(owner is None for owner in owners):
        raise RedisClusterException("the cluster does not serve every slot")
    return owners  # type: ignore[return-value]
