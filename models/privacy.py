"""The deny list of forgotten customers: ids the shop asked us to forget (`DELETE /customers/{id}`).

The service removes what it holds about such a customer at once; the deny list makes the rest of
the system keep them out afterwards: the training job drops their rows and events, a publish
removes their documents from the version it writes, and an embedded store built from an older
artifact leaves them out. It lives in two places: the Redis set `contract.FORGOTTEN_KEY` (for
deployments with Redis) and the file `<artifacts root>/privacy/forgotten.txt` beside the
versions (one id a line, appended), which a training run reads automatically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

FORGOTTEN_FILE = Path("privacy") / "forgotten.txt"


def forgotten_path(artifacts_root: Path) -> Path:
    return artifacts_root / FORGOTTEN_FILE


def read_forgotten(path: Path) -> set[str]:
    """The ids in a deny-list file (none if it does not exist); blank lines are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def append_forgotten(path: Path, customer_ids: Iterable[str]) -> None:
    """Append ids to the deny list durably. One `O_APPEND` write per call: several processes
    appending at once never interleave or lose a line (a read-modify-write rewrite could)."""
    payload = "".join(f"{cid}\n" for cid in customer_ids).encode()
    if not payload:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
