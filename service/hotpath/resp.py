"""A pipelining Redis connection for the hot path: RESP written by hand, replies parsed by hiredis.

redis-py's asyncio pipeline costs more Python per round trip than the whole rest of a cached
answer (command packing per argument, a connection checkout, `SCRIPT EXISTS` before every
pipeline holding a script). The hot path sends a handful of commands per event-loop tick, so
it keeps one connection of its own, writes each batch as one buffer, and matches replies to
batches in order (several batches may be in flight: true pipelining). A time-out or any other
failure closes the connection, failing every batch in flight on it; the next batch opens a new
one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.connection import parse_url

Command = Sequence[bytes | str | int]


class RespError(Exception):
    """Redis answered a command with an error (e.g. NOSCRIPT)."""


def pack(commands: Sequence[Command]) -> bytes:
    return b"".join([hiredis.pack_command(tuple(command)) for command in commands])  # type: ignore[arg-type]  # hiredis' stub types a 1-tuple


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[tuple[asyncio.Future[list[Any]], list[Any], int]] = deque()
        self.transport: Any = None  # asyncio's or uvloop's transport (not a subclass of asyncio.Transport)
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while self.waiting:
            future, replies, expected = self.waiting[0]
            while len(replies) < expected:
                reply = self.reader.gets()
                if reply is False:
                    return
                replies.append(reply)
            self.waiting.popleft()
            if not future.done():
                future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("connection closed by redis")
        while self.waiting:
            future, _, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError(str(self.lost)))


def _expire(future: asyncio.Future[list[Any]]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("redis did not answer in time"))


class RespConnection:
    node_of = None  # one Redis: every key on it (the cluster connection's `node_of` groups keys by node)

    def __init__(self, url: str, timeout_s: float) -> None:
        options = parse_url(url)  # redis-py's reading of the URL, so both clients agree on it
        if "connection_class" in options or "path" in options:
            raise ValueError("the hot path speaks plain TCP redis:// only (no TLS, no unix socket)")
        self.host, self.port = options.get("host", "127.0.0.1"), int(options.get("port", 6379))
        self.password, self.username = options.get("password"), options.get("username")
        self.db = int(options.get("db", 0))
        self.timeout_s = timeout_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, commands: Sequence[Command]) -> list[Any]:
        """Every command's reply, in order; error replies come back as `RespError` values."""
        try:
            replies = await self._send(await self._connected(), commands)
        except (TimeoutError, ConnectionError, OSError):
            self.close()
            raise
        return [RespError(str(r)) if isinstance(r, hiredis.ReplyError) else r for r in replies]

    async def _connected(self) -> _Protocol:
        if self._protocol is not None and self._protocol.lost is None:
            return self._protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or self._protocol.lost is not None:
                self._protocol = await self._open()
        return self._protocol

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(loop.create_connection(_Protocol, self.host, self.port), self.timeout_s)
        hello: list[Command] = []
        if self.password is not None:
            hello.append(["AUTH", self.username, self.password] if self.username else ["AUTH", self.password])
        if self.db:
            hello.append(["SELECT", self.db])
        if hello:
            replies = await self._send(protocol, hello)
            if any(isinstance(r, hiredis.ReplyError) for r in replies):
                protocol.transport.close()
                raise ConnectionError(f"redis refused the hot path's connection: {replies}")
        return protocol

    async def _send(self, protocol: _Protocol, commands: Sequence[Command]) -> list[Any]:
        """Write `commands` and wait for their replies, at most `timeout_s` (a timer on the
        future rather than `wait_for`: cheaper, and this runs once per tick)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        protocol.waiting.append((future, [], len(commands)))
        protocol.transport.write(pack(commands))
        expiry = loop.call_later(self.timeout_s, _expire, future)
        try:
            return await future
        finally:
            expiry.cancel()

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
