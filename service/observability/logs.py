"""Logs of the service: one structured access line per answered request (with its metrics), JSON
logging for the process, and the hash that stands for a customer id wherever one is logged.

Privacy: the access log names the *route template* (`/recommend/{customer_id}`), never the raw
path, so customer ids do not land in logs; with `log_customer_ids` they are added hashed. No
headers (so no keys) and no bodies are ever logged.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from service.observability.metrics import Metrics

log = logging.getLogger("microoffers.access")


def hash_id(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class AccessLog:
    """What every answered request leaves behind: latency and status metrics per route template,
    and (if on) one access-log line."""

    enabled: bool = True
    log_customer_ids: bool = False
    metrics: Metrics | None = None

    def record(self, scope: Scope, route: str, status: int, seconds: float, request_id: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_request(scope.get("method", ""), route, status, seconds)
        if self.enabled and log.isEnabledFor(logging.INFO):
            log.info("request", extra=self._fields(scope, route, status, seconds, request_id))

    def _fields(self, scope: Scope, route: str, status: int, seconds: float, request_id: str) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope.get("method"),
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        customer = (scope.get("path_params") or {}).get("customer_id")
        if customer and self.log_customer_ids:
            fields["customer"] = hash_id(str(customer))
        return fields


def configure_json_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the service process (entry points configure; libraries only log)."""
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler()
    fmt = "%(asctime)s %(levelname)s %(name)s %(message)s"
    handler.setFormatter(JsonFormatter(fmt, rename_fields={"levelname": "level"}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
