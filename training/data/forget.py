"""Which customers a training run must leave out: the deny list (see `models.rules.privacy`).

Read from `<out>/privacy/forgotten.txt` (the service appends to it on `DELETE /customers/{id}`),
from any `--forget FILE`, and, when the run reads events from Redis, from the Redis set too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from models import contract
from models.rules.privacy import forgotten_path, read_forgotten
from training.errors import InputError

log = logging.getLogger(__name__)


def forgotten_customers(out_dir: Path, files: Sequence[Path] = (), redis_url: str | None = None) -> frozenset[str]:
    ids = read_forgotten(forgotten_path(out_dir))
    for path in files:
        if not path.is_file():
            raise InputError(str(path), "deny list not found (one customer id a line)")
        try:
            ids |= read_forgotten(path)
        except UnicodeDecodeError as exc:
            raise InputError(str(path), f"deny list is not UTF-8 text: {exc.reason}") from exc
    if redis_url:
        ids |= redis_deny_list(redis_url)
    if ids:
        log.info("deny list: %d forgotten customers are left out", len(ids))
    return frozenset(ids)


def redis_deny_list(url: str) -> set[str]:
    from training import redis_client

    client = redis_client.connect(url)
    try:
        return {cast(bytes, m).decode() for m in client.sscan_iter(contract.FORGOTTEN_KEY, count=10_000)}
    finally:
        client.close()
