"""A real Redis Cluster on loopback: 3 primaries and 3 replicas, `redis-server --cluster-enabled
yes` on free ports in a directory of its own, joined by `redis-cli --cluster create`. The cluster
benchmark's and the test suite's (`tests.support.redis_cluster`: one per session, it takes a few
seconds to form); a test may kill a primary (`kill_primary_of`) and wait for its replica to take
over (`wait_for_failover`)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.crc import key_slot

NODES = 6
BUS_OFFSET = 10000  # redis-server's cluster bus listens on port + 10000
NODE_TIMEOUT_MS = 1000  # how long a primary may be silent before its replica is promoted


class RedisClusterProcesses:
    def __init__(self, workdir: Path, appendonly: bool = True) -> None:
        """`appendonly`: each node logs writes (what a failover test wants: a restarted node
        keeps its data); a benchmark against a Redis without persistence turns it off."""
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            raise SystemExit("redis-server and redis-cli are not installed (make system-deps installs them)")
        self.workdir, self.appendonly = workdir, appendonly
        self.ports = [_free_node_port() for _ in range(NODES)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """The service's and the CLI's URL for it (`models.contract.redis_url`): any one node."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            self._start_node(port)
        for port in self.ports:
            _wait_for_ping(port)
        addresses = [f"127.0.0.1:{p}" for p in self.ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_ok()

    def _start_node(self, port: int) -> None:
        node_dir = self.workdir / str(port)
        node_dir.mkdir(exist_ok=True)
        self.procs[port] = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--save",
                "",
                "--dir",
                str(node_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)

    def wait_until_ok(self, timeout: float = 30.0) -> None:
        """Every live node says `cluster_state:ok` and agrees every slot has a live primary."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._ok(port) for port in self.live_ports()):
                return
            time.sleep(0.1)
        raise TimeoutError("the redis cluster did not reach cluster_state:ok")

    def _ok(self, port: int) -> bool:
        try:
            info = self.client(port).execute_command("CLUSTER", "INFO")
        except redis.RedisError:
            return False
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text and "cluster_slots_ok:16384" in text

    def primary_pids(self) -> dict[int, int]:
        """Port -> pid of every live primary."""
        pids = {}
        for port in self.live_ports():
            if self.client(port).info("replication")["role"] == "master":
                pids[port] = self.procs[port].pid
        return pids

    def live_ports(self) -> list[int]:
        return [port for port, proc in self.procs.items() if proc.poll() is None]

    def primary_of(self, key: str) -> int:
        """The port of the primary serving `key`'s slot now."""
        slot = key_slot(key.encode())
        for port in self.live_ports():
            try:
                slots = self.client(port).execute_command("CLUSTER", "SLOTS")
            except redis.RedisError:
                continue
            for start, end, primary, *_ in slots:
                if start <= slot <= end:
                    return int(primary[1])
        raise RuntimeError(f"no live node knows who serves slot {slot}")

    def kill_primary_of(self, key: str) -> int:
        """`kill -9` the primary serving `key`; returns its port."""
        port = self.primary_of(key)
        self.procs[port].send_signal(signal.SIGKILL)
        self.procs[port].wait(10)
        return port

    def wait_for_failover(self, key: str, killed: int, timeout: float = 30.0) -> None:
        """Until a replica has taken over `key`'s slot from the killed primary and the cluster is ok."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.primary_of(key) != killed:
                    self.wait_until_ok(max(deadline - time.monotonic(), 0.1))
                    return
            except RuntimeError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"no replica took over from the primary on port {killed}")

    def restart(self, port: int) -> None:
        """A killed node back (it rejoins as a replica of whoever took over)."""
        self._start_node(port)
        _wait_for_ping(port)
        self.wait_until_ok()

    def flush(self) -> None:
        """Every primary emptied (between tests)."""
        for port in self.live_ports():
            try:
                self.client(port).flushall()
            except redis.ReadOnlyError:
                continue  # a replica: its primary's flush reaches it

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_for_ping(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise TimeoutError(f"redis-server on port {port} did not start")


def _free_node_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a valid port and free too."""
    for _ in range(100):
        with socket.socket() as node:
            node.bind(("127.0.0.1", 0))
            port = int(node.getsockname()[1])
            if port + BUS_OFFSET > 65535:
                continue
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + BUS_OFFSET))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair for a cluster node")
