"""How `microoffers serve` runs uvicorn: one process, `--workers N` under uvicorn's supervisor,
and with `--reuse-port` a socket bound with `SO_REUSEPORT`, so several `serve` processes (or
several supervisors, e.g. one per container sharing the host network) listen on one port and the
Linux kernel spreads new connections over them.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "service.app:create_app"


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket other processes may bind too (each gets its share of connections)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(host: str, port: int, workers: int, reuse_port: bool, graceful_s: float) -> None:
    options = {
        "factory": True,
        "log_config": None,
        "access_log": False,  # JSON access lines come from the app's own middleware
        "timeout_graceful_shutdown": graceful_s,  # SIGTERM: requests in flight finish first
    }
    if not reuse_port:
        uvicorn.run(APP, host=host, port=port, workers=workers, **options)  # type: ignore[arg-type]
        return
    config = uvicorn.Config(APP, host=host, port=port, workers=workers, **options)  # type: ignore[arg-type]
    sock = reuse_port_socket(host, port)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
