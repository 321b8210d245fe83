"""The deny list of forgotten customers: ids the shop asked us to forget (`DELETE /customers/{id}`).

The service removes what it holds about such a customer at once; the deny list makes the rest of
the system keep them out afterwards: the training job drops their rows and events, a publish
removes their documents from the version it writes, and an embedded store built from an older
artifact leaves them out. It lives in two places: the Redis set `contract.FORGOTTEN_KEY` (for
deployments with Redis) and the file `<artifacts root>/privacy/forgotten.txt` beside the
versions (one id a line, appended), which a training run reads automatically.

This module is the rule's one home: which ids are denied (`read_forgotten`), how an id is added
(`append_forgotten`) and how an explicit restore takes it off again (`remove_forgotten`). The
service's `service.core.deny_list.DenyList` and the training job's `training.data.forget` only read and
write through it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    """Append ids to the deny list durably. One `O_APPEND` write per call, under the file's lock
    (see `remove_forgotten`), so processes appending at once never interleave or lose a line."""
    payload = "".join(f"{cid}\n" for cid in customer_ids).encode()
    if not payload:
        return
    with _locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_forgotten(path: Path, customer_ids: Iterable[str]) -> int:
    """Take ids off the deny list (an explicit restore, see README "Erasure"): the file is
    rewritten without them and renamed into place under the lock appends take too, so an erasure
    recorded meanwhile is never lost. Returns how many lines were removed."""
    drop = set(customer_ids)
    with _locked(path):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return 0
        kept = [line for line in lines if line.strip() and line.strip() not in drop]
        removed = sum(1 for line in lines if line.strip() in drop)
        if removed:
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("".join(f"{line}\n" for line in kept))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    return removed


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the deny list (a rewrite replaces the file itself, so the lock
    lives on a file of its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
