"""Closing the loop: the event log folded into training, read incrementally, never twice."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from cli.main import app
from models import contract
from models.algorithms.interactions import Interactions
from models.contract.artifact import load_artifact
from models.contract.events import Event, LoggedEvent, to_record
from service.live import LivePolicy, RedisLiveState
from tests.support.redis_reads import entries
from training.data.clean import is_non_product
from training.data.events import (
    FeedbackWeights,
    apply_feedback,
    event_purchase_rows,
    events_frame,
    gap_warning,
    past_end,
    read_event_log,
)
from training.errors import InputError
from training.pipeline import TrainInputs, train

T0 = 1_291_000_000_000  # 2010-11-29, inside the bundled data's year
DAY_MS = 86_400_000


def _write_log(path: Path, events: list[tuple[str, str, str]], first_ms: int = T0) -> None:
    lines = [
        orjson.dumps(to_record(LoggedEvent(f"{first_ms + n}-0", Event(c, i, kind, first_ms + n))))  # type: ignore[arg-type]
        for n, (c, i, kind) in enumerate(events)
    ]
    with open(path, "ab") as fh:
        fh.write(b"\n".join(lines) + b"\n")


def _popular_items(retail_slice: Path, n: int) -> list[str]:
    codes = pd.read_parquet(retail_slice)["StockCode"].astype(str)
    return [str(x) for x in codes[~is_non_product(codes)].value_counts().index[:n]]


def test_events_fold_in_once_across_runs(retail_slice: Path, tmp_path: Path) -> None:
    items = _popular_items(retail_slice, 4)
    log = tmp_path / "events.jsonl"
    _write_log(
        log, [("ev-new", items[0], "purchase"), ("ev-new", items[1], "purchase"), ("ev-new", items[2], "dismiss")]
    )
    out = tmp_path / "art"
    train(TrainInputs(retail_slice, "online-retail", events_from=str(log)), out)
    first = load_artifact(out, with_events=True)  # the newest version: the one just written
    assert "ev-new" in first.customers
    assert first.manifest["events"]["new"] == 3 and first.manifest["events"]["total"] == 3
    assert first.manifest["events"]["last_id"] == f"{T0 + 2}-0"
    row = first.customers.row("ev-new")
    assert {str(first.items.ids[i]) for i in first.history[row].indices} == set(items[:2])

    train(TrainInputs(retail_slice, "online-retail", events_from=str(log)), out)
    again = load_artifact(out, with_events=True)
    assert again.manifest["events"]["new"] == 0 and again.manifest["events"]["total"] == 3
    assert again.history[again.customers.row("ev-new")].sum() == 2  # not doubled

    _write_log(log, [("ev-new", items[3], "purchase")], first_ms=T0 + 10)
    train(TrainInputs(retail_slice, "online-retail", events_from=str(log)), out)
    third = load_artifact(out, with_events=True)
    assert third.manifest["events"]["new"] == 1 and third.manifest["events"]["total"] == 4
    assert third.events is not None and list(third.events["id"]) == sorted(third.events["id"], key=lambda x: x)
    assert third.history[third.customers.row("ev-new")].sum() == 3


def test_purchase_events_already_in_the_file_are_not_added(retail_slice: Path) -> None:
    frame = pd.read_parquet(retail_slice).dropna(subset=["Customer ID"]).iloc[0]
    customer, item = str(int(frame["Customer ID"])), str(frame["StockCode"])
    day_ms = int(pd.Timestamp(frame["InvoiceDate"]).value // 1_000_000) + 60_000
    events = events_frame(
        [
            LoggedEvent("1-0", Event(customer, item, "purchase", day_ms)),
            LoggedEvent("2-0", Event(customer, item, "purchase", day_ms + 86_400_000 * 400)),
        ]
    )
    purchases = pd.DataFrame(
        {"customer_id": [customer], "item_id": [item], "timestamp": [pd.Timestamp(frame["InvoiceDate"])]}
    )
    rows = event_purchase_rows(events, purchases)
    assert list(rows["invoice"]) == ["event:2-0"]
    assert list(rows["timestamp"]) == [pd.Timestamp(frame["InvoiceDate"])]  # 400 days late: as of the file's end


def test_events_past_the_end_are_counted_and_a_day_or_more_is_a_warning() -> None:
    end = pd.Timestamp("2010-12-09 20:01")
    stamps = [T0, int(end.value // 1_000_000) + 3_600_000]  # inside the data, then an hour past its end
    events = events_frame([LoggedEvent(f"{n}-0", Event("c", "i", "dismiss", ms)) for n, ms in enumerate(stamps)])
    note = past_end(events, end)
    assert note == {"purchases_end": "2010-12-09 20:01:00", "clamped": 1, "days_past_end": 0.04}
    assert gap_warning(note) is None  # an export lagging its events by hours is normal, not worth a warning
    late = events_frame([LoggedEvent("9-0", Event("c", "i", "purchase", int(end.value // 1_000_000) + 3 * DAY_MS))])
    assert gap_warning(past_end(late, end)) == (
        "events run 3 days past the purchases' end (2010-12-09); they count as of that day"
    )
    assert past_end(events.iloc[:1], end)["clamped"] == 0 and gap_warning({}) is None


def test_cli_events_stamped_today_fold_in_without_force(retail_slice: Path, tmp_path: Path) -> None:
    """Regression: events stamped today moved the model's "now" from the purchases' end (2010) to
    today, so the validation window held no returning customer (exit 3) and, with --force, every
    time feature shifted without a word. Now they count as of the purchases' end."""
    items = _popular_items(retail_slice, 2)
    log = tmp_path / "events.jsonl"
    today_ms = int(time.time() * 1000)
    _write_log(
        log,
        [("today-c", items[0], "purchase"), ("today-c", items[1], "purchase"), ("12346", items[0], "dismiss")],
        first_ms=today_ms,
    )
    out = tmp_path / "art"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--no-tune",
            "--purchases",
            str(retail_slice),
            "--format",
            "online-retail",
            "--out",
            str(out),
            "--events-from",
            str(log),
        ],
    )
    assert result.exit_code == 0, result.output
    artifact = load_artifact(Path(result.stdout.strip().splitlines()[-1]), with_events=True)
    end = pd.to_datetime(pd.read_parquet(retail_slice)["InvoiceDate"]).max()
    assert pd.Timestamp(artifact.manifest["data_end"]) == end
    events = artifact.manifest["events"]
    assert events["purchases_end"] == str(end) and events["clamped"] == 3 and events["days_past_end"] > 5000
    warnings = [line for line in result.stderr.splitlines() if "past the purchases' end" in line]
    assert warnings == [
        f"warning: events run {int(events['days_past_end'])} days past the purchases' end "
        f"({end.date()}); they count as of that day"
    ]
    summary = result.stderr.strip().splitlines()[-7:]  # the cleaning summary comes last, after the warning
    assert summary[0].startswith("cleaning (online-retail rules): ") and summary[-1].startswith("  kept ")
    assert any(line.endswith(": non-product codes (Online Retail rules)") for line in summary)
    row = artifact.customers.row("today-c")
    assert {str(artifact.items.ids[i]) for i in artifact.history[row].indices} == set(items)
    assert artifact.events is not None and artifact.events["timestamp"].min() > end  # the log keeps the true time


def test_returns_become_negative_and_dismissals_lower_confidence() -> None:
    m = Interactions.from_triples(np.array(["a", "a", "b"]), np.array(["x", "y", "x"]), np.array([2.0, 2.0, 2.0]))
    events = events_frame(
        [
            LoggedEvent("1-0", Event("a", "x", "return", T0)),
            LoggedEvent("2-0", Event("a", "y", "dismiss", T0)),
            LoggedEvent("3-0", Event("b", "y", "dismiss", T0)),
            LoggedEvent("4-0", Event("a", "x", "dismiss", T0)),  # already returned: stays at -returned
            LoggedEvent("5-0", Event("zz", "x", "complaint", T0)),  # unknown customer: ignored
        ]
    )
    out = apply_feedback(m, events, FeedbackWeights(returned=1.0, dismissed=0.5)).matrix.toarray()
    a, b = m.customers.row("a"), m.customers.row("b")
    x, y = m.items.row("x"), m.items.row("y")
    assert out[a, x] == -1.0 and out[a, y] == 1.5 and out[b, y] == -0.5 and out[b, x] == 2.0


def test_bad_log_line_names_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _write_log(log, [("c", "i", "purchase")])
    with open(log, "ab") as fh:
        fh.write(b'{"id": "9-0", "type": "teleport"}\n')
    with pytest.raises(InputError, match=r"events.jsonl.*row 2"):
        read_event_log(str(log))


@pytest.mark.redis
def test_cli_train_from_redis_stream_and_export(redis_server: Any, retail_slice: Path, tmp_path: Path) -> None:
    items = _popular_items(retail_slice, 2)
    sync = redis.Redis.from_url(redis_server.url)
    sync.flushdb()

    async def record() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        state = RedisLiveState(client, LivePolicy())
        await state.record(
            [
                Event("stream-c", items[0], "purchase", T0),
                Event("stream-c", items[1], "purchase", T0),
                Event("13085", items[0], "complaint", T0),
            ],
            ["unknown"] * 3,
            T0,
        )
        await client.aclose()

    asyncio.run(record())
    out = tmp_path / "art"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "train",
            "--no-tune",
            "--purchases",
            str(retail_slice),
            "--format",
            "online-retail",
            "--out",
            str(out),
            "--events-from",
            redis_server.url,
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((Path(result.stdout.strip().splitlines()[-1]) / "manifest.json").read_text())
    assert manifest["events"]["by_type"] == {"complaint": 1, "purchase": 2}
    assert "stream-c" in load_artifact(out).customers

    exported = tmp_path / "export.jsonl"
    result = runner.invoke(app, ["events", "export", "--redis-url", redis_server.url, "--out", str(exported)])
    assert result.exit_code == 0, result.output
    assert len(read_event_log(str(exported))) == 3
    assert list(read_event_log(str(exported))["id"]) == [
        event_id.decode() for event_id, _ in entries(sync, contract.EVENTS_STREAM)
    ]
    sync.close()
