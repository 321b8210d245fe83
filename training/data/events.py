"""Close the loop: fold the service's event log into the next training run.

`train --events-from URL|FILE` reads the log (a Redis URL reads the `mo:{events}:log` stream; a file is
a JSONL export or the embedded store's log) from just after the last event the previous
version consumed. The new events join the ones that version had folded in (kept in its
`events.parquet`), de-duplicated by id, so every run learns from every event exactly once:
nothing lost when the stream is read incrementally, nothing counted twice when a file is
re-read. Purchases become purchase rows (unless the purchases file already has that customer,
item and day); returns and complaints turn the pair into negative feedback; dismissals lower it.

"Now" for a model is the end of the purchases file: the validation window, recency decay,
buy-again rhythms and trending windows all count back from it. Events stamped later (the demo's
events are stamped today, its purchases end in 2010; a live shop's export lags its events by
hours) count as of that end: their purchase rows are dated then (the log keeps the true time, so
a later, longer purchases file dates them truly), the manifest says how many and how far
(`clamped`, `days_past_end`), and `train` prints one warning line for a gap of a day or more.
Letting them move "now" instead would shift every time feature to a date with no purchases but
theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import orjson
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict

from models import contract
from models.algorithms.interactions import Interactions
from models.contract.artifact import ArtifactNotFoundError, load_artifact
from models.contract.events import NEGATIVE_TYPES, LoggedEvent, from_stream, id_key, read_log, to_record
from training.errors import InputError

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["id", "customer_id", "item_id", "type", "timestamp", "quantity", "section"]
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://")
_PAGE = 10_000


class FeedbackWeights(BaseModel):
    """How much the negative events weigh in the confidence matrix (implicit reads a negative
    entry as "does not want this", with that confidence)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    returned: float = 1.0  # returned or complained pair: its purchase evidence is replaced by -returned
    dismissed: float = 0.25  # dismissed pair: confidence lowered by this (negative if never bought)


@dataclass
class FoldedEvents:
    """Every event folded into the version being built, and the manifest entry describing it."""

    events: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def add_purchases(self, purchases: pd.DataFrame) -> pd.DataFrame:
        """The loaded purchases plus one row per purchase event not already in them."""
        rows = event_purchase_rows(self.events, purchases)
        self.manifest["purchases_added"] = len(rows)
        self.manifest["purchases_already_in_file"] = int((self.events["type"] == "purchase").sum()) - len(rows)
        self.manifest.update(past_end(self.events, purchases["timestamp"].max()))
        return pd.concat([purchases, rows], ignore_index=True) if len(rows) else purchases


def is_redis_url(source: str) -> bool:
    return source.startswith(_REDIS_SCHEMES)


def read_event_log(source: str, after_id: str | None = None) -> pd.DataFrame:
    """Events logged after `after_id` (all when None), oldest first, as EVENT_COLUMNS."""
    logged = _read_stream(source, after_id) if is_redis_url(source) else _read_file(Path(source), after_id)
    return events_frame(logged)


def events_frame(logged: Iterator[LoggedEvent] | list[LoggedEvent]) -> pd.DataFrame:
    records = [to_record(x) for x in logged]
    frame = pd.DataFrame(records, columns=EVENT_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601").dt.tz_localize(None)
    frame["quantity"] = frame["quantity"].astype("int64")
    return frame.astype({"id": object, "customer_id": object, "item_id": object, "type": object, "section": object})


def _read_stream(url: str, after_id: str | None) -> Iterator[LoggedEvent]:
    from training import redis_client

    client = redis_client.connect(url)
    try:
        start = f"({after_id}" if after_id else "-"
        while True:
            page = cast(
                list[tuple[bytes, dict[bytes, bytes]]],
                client.xrange(contract.EVENTS_STREAM, min=start, max="+", count=_PAGE),
            )
            for event_id, fields in page:
                yield from_stream(event_id, fields)
            if len(page) < _PAGE:
                return
            start = f"({page[-1][0].decode()}"
    finally:
        client.close()


def _read_file(path: Path, after_id: str | None) -> Iterator[LoggedEvent]:
    if not path.is_file():
        raise InputError(str(path), "event log not found (a JSONL export or the embedded store's log)")
    after = id_key(after_id) if after_id else None
    for number, logged in read_log(path):
        if isinstance(logged, ValueError):
            raise InputError(str(path), str(logged), row=number)
        if after is None or id_key(logged.id) > after:
            yield logged


def previous_events(out_dir: Path) -> tuple[pd.DataFrame | None, str | None]:
    """The events the newest version in `out_dir` folded in, and the last log id it consumed."""
    try:
        previous = load_artifact(out_dir, with_events=True)
    except ArtifactNotFoundError:
        return None, None
    return previous.events, (previous.manifest.get("events") or {}).get("last_id")


def collect_events(source: str, out_dir: Path, forgotten: Collection[str] = frozenset()) -> FoldedEvents:
    """The previous version's events plus the new ones, without forgotten customers' (they
    leave the folded history too, not only the new part)."""
    known, after = previous_events(out_dir)
    new = read_event_log(source, after)
    parts = [f for f in (known, new) if f is not None and len(f)]
    events = pd.concat(parts, ignore_index=True) if parts else new
    events = events.drop_duplicates("id").sort_values("id", key=_id_sort_key, kind="stable").reset_index(drop=True)
    last_id = str(events["id"].iloc[-1]) if len(events) else after  # consumed, even if dropped below
    denied = events["customer_id"].astype(str).isin(set(forgotten)).to_numpy()
    events = events[~denied].reset_index(drop=True)
    purchases = events[events["type"] == "purchase"]
    manifest = {
        "source": _redacted(source),
        "after_id": after,
        "last_id": last_id,
        "new": len(new),
        "total": len(events),
        "dropped_forgotten": int(denied.sum()),
        "by_type": {str(k): int(v) for k, v in events["type"].value_counts().sort_index().items()},
        "last_ts_ms": int(purchases["timestamp"].max().value // 1_000_000) if len(purchases) else 0,
    }
    log.info("events: %d new after %s, %d folded in total", len(new), after, len(events))
    return FoldedEvents(events, manifest)


def past_end(events: pd.DataFrame, end: pd.Timestamp) -> dict[str, Any]:
    """How many events are stamped after the purchases' end and by how far (module docstring)."""
    late = events["timestamp"] > end
    gap = float((events["timestamp"].max() - end) / pd.Timedelta(days=1)) if late.any() else 0.0
    note = {"purchases_end": str(end), "clamped": int(late.sum()), "days_past_end": round(gap, 2)}
    log.info("%d events after the purchases' end %s count as of it", note["clamped"], end)
    return note


def gap_warning(manifest: dict[str, Any]) -> str | None:
    """The line `train` prints when the events (manifest `events`) run a day or more past the
    purchases' end; a few hours are the normal lag of a nightly export and pass silently."""
    gap = manifest.get("days_past_end", 0)
    if gap < 1:
        return None
    end = str(manifest["purchases_end"])[:10]
    return f"events run {int(gap)} days past the purchases' end ({end}); they count as of that day"


def event_purchase_rows(events: pd.DataFrame, purchases: pd.DataFrame) -> pd.DataFrame:
    """Purchase events as purchase rows (one occasion each), minus those whose customer, item
    and day the purchases file already has (the shop's export may include them), dated no
    later than the purchases' end (module docstring)."""
    bought = events[events["type"] == "purchase"]
    day = bought["timestamp"].dt.floor("D")
    seen = set(zip(purchases["customer_id"], purchases["item_id"], purchases["timestamp"].dt.floor("D")))
    fresh = bought[[key not in seen for key in zip(bought["customer_id"], bought["item_id"], day)]]
    return pd.DataFrame(
        {
            "customer_id": fresh["customer_id"].to_numpy(dtype=object),
            "item_id": fresh["item_id"].to_numpy(dtype=object),
            "timestamp": fresh["timestamp"].clip(upper=purchases["timestamp"].max()).to_numpy(dtype="datetime64[ns]"),
            "quantity": fresh["quantity"].to_numpy(dtype="float64"),
            "price": np.full(len(fresh), np.nan),
            "title": np.full(len(fresh), None, dtype=object),
            "invoice": ("event:" + fresh["id"].astype(str)).to_numpy(dtype=object),
            "country": np.full(len(fresh), None, dtype=object),
        }
    )


def apply_feedback(interactions: Interactions, events: pd.DataFrame, weights: FeedbackWeights) -> Interactions:
    """Returned/complained pairs become negative feedback; dismissed pairs are lowered."""
    negative = _pair_mask(interactions, events[events["type"].isin(NEGATIVE_TYPES)])
    dismissed = _pair_mask(interactions, events[events["type"] == "dismiss"])
    dismissed = dismissed - dismissed.multiply(negative)  # a returned pair is already negative
    m = interactions.matrix.tocsr().astype(np.float32)
    m = m - m.multiply(negative) - negative * weights.returned - dismissed * weights.dismissed
    m = sp.csr_matrix(m, dtype=np.float32)
    m.eliminate_zeros()
    return Interactions(interactions.customers, interactions.items, m)


def _pair_mask(interactions: Interactions, frame: pd.DataFrame) -> sp.csr_matrix:
    rows = interactions.customers.rows(frame["customer_id"].to_numpy())
    cols = interactions.items.rows(frame["item_id"].to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    mask = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])), shape=interactions.shape
    )
    mask.sum_duplicates()
    mask.data[:] = 1.0
    return mask


def export_stream(url: str, out: Path, after_id: str | None = None) -> int:
    """Dump the Redis event log as JSONL (the format `--events-from FILE` reads). Returns the count."""
    n = 0
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        for logged in _read_stream(url, after_id):
            fh.write(orjson.dumps(to_record(logged)) + b"\n")
            n += 1
    tmp.replace(out)
    return n


def _id_sort_key(ids: pd.Series) -> pd.Series:
    return ids.map(id_key)


def _redacted(source: str) -> str:
    """A Redis URL without its password, for the manifest."""
    if not is_redis_url(source):
        return source
    parts = urlsplit(source)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
