"""The customer's data belongs to the customer: export everything stored about one, or forget
them at once (`GET /customers/{id}/export`, `DELETE /customers/{id}`).

Forgetting first records the id on the deny list (durably), then removes their cached documents
in every version the stores hold, their live state and their events in the log, and their place
in segment samples. The deny list keeps them out afterwards: the next training run drops their
rows, a publish of an older artifact removes their documents, and an embedded store is built
without them; every read treats them as a customer never met and records nothing (impressions,
contacts), and every write about them (events) is refused. Aggregate counters (feedback totals
per country) hold no id and stay. A restore (`restore_customer`) is explicit and keyed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from models import contract
from models.contract import documents
from models.contract.answer_fragments import decode_answer_rows
from models.contract.artifact import Artifact
from models.contract.events import LoggedEvent, ms_to_iso, to_record
from models.contract.store_documents import segment_doc, segment_of_store_document, store_doc
from service.core.deny_list import DenyList
from service.http.schemas import (
    CachedDocument,
    CustomerExport,
    ExperimentMembership,
    LiveData,
    LoggedEventOut,
    SegmentMembership,
    TrainedPurchase,
    TrainingData,
)
from service.live.state import LiveSnapshot
from service.observability.logs import hash_id
from service.serving import Serving
from service.storage.json_documents import json_document

log = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)


async def export_customer(serving: Serving, deny: DenyList, customer_id: str, now_ms: int) -> CustomerExport:
    """Read from the primary store (Redis when configured): an export while it is down would be
    incomplete, so it fails with 503 instead. A forgotten customer's export says so and holds
    nothing else: what the artifacts on disk still hold of them is never served, so it is not
    served here either."""
    if customer_id in deny:
        return CustomerExport(
            customer_id=customer_id,
            exported_at=ms_to_iso(now_ms),
            forgotten=True,
            training=None,
            live=live_data([], LiveSnapshot()),
            cached=[],
            segment=None,
        )
    state = serving.live.state
    store = serving.stores.primary
    events, snapshot, cached, training = await asyncio.gather(
        state.customer_events(customer_id),
        state.snapshot(customer_id, now_ms),
        store.customer_documents(customer_id),
        asyncio.to_thread(training_data, serving.artifact, customer_id, serving.live.erased_from_model(customer_id)),
    )
    return CustomerExport(
        customer_id=customer_id,
        exported_at=ms_to_iso(now_ms),
        forgotten=False,
        training=training,
        live=live_data(events, snapshot),
        cached=[
            CachedDocument(model_version=v, name=name, content=_decode(name, raw))
            for v, docs in cached.items()
            for name, raw in docs.items()
        ],
        segment=await _segment(serving, cached, customer_id),
        experiments=await _experiments(serving, customer_id),
    )


async def _experiments(serving: Serving, customer_id: str) -> list[ExperimentMembership]:
    if serving.live.experiments is None:
        return []
    return [
        ExperimentMembership(
            experiment=t.experiment,
            variant=t.variant,
            exposed_on=None if t.exposed_day is None else _day(t.exposed_day),
            converted_on=None if t.converted_day is None else _day(t.converted_day),
            revenue=t.revenue_cents / 100,
        )
        for t in await serving.live.experiments.customer_tallies(customer_id)
    ]


async def forget_customer(state: Any, deny: DenyList, customer_id: str) -> None:
    """`state` is `app.state`: the serving generation is read after the id is on the deny list,
    so a reload running meanwhile either built without the customer or is the one cleaned here."""
    await deny.add(customer_id)
    serving: Serving = state.serving
    removed = await serving.stores.forget(customer_id)
    if serving.live.personalizer is not None:
        serving.live.personalizer.forget(customer_id)
    events = await serving.live.state.forget(customer_id)
    if serving.live.experiments is not None:  # their exposure, conversion and revenue in every experiment
        await serving.live.experiments.forget(customer_id)
    log.info(
        "forgot customer %s: %d cached documents and %d logged events removed", hash_id(customer_id), removed, events
    )


async def restore_customer(deny: DenyList, customer_id: str) -> bool:
    """Take a customer off the deny list: the shop says they came back and agreed. Nothing that
    was erased comes back: they are a customer the served model does not know (this process's
    model keeps forgetting them), their new events are accepted again, and the next training
    run uses whatever the shop's purchase file holds of them. Returns whether they were on it."""
    was = await deny.remove(customer_id)
    log.info("restored customer %s (was on the deny list: %s)", hash_id(customer_id), was)
    return was


def training_data(artifact: Artifact | None, customer_id: str, erased: bool = False) -> TrainingData | None:
    """The customer's purchases as the loaded artifact holds them (occasions per item with first
    and last day), their country, and the feedback events the version was trained on. `erased`:
    they were forgotten while this artifact was served (and restored since): it holds nothing
    of them that may be read."""
    if artifact is None:
        return None
    if erased:
        return TrainingData(model_version=artifact.version, known=False, country=None, purchases=[], folded_events=[])
    row = artifact.customers.row(customer_id)
    purchases: list[TrainedPurchase] = []
    country = None
    if row is not None:
        stats = artifact.replenishment
        lo, hi = stats.occasions.indptr[row], stats.occasions.indptr[row + 1]
        cols = stats.occasions.indices[lo:hi]
        titles = _titles(artifact, [str(artifact.items.ids[c]) for c in cols])
        for col, n, first, last in zip(
            cols, stats.occasions.data[lo:hi], stats.first_day.data[lo:hi], stats.last_day.data[lo:hi]
        ):
            item = str(artifact.items.ids[col])
            purchases.append(
                TrainedPurchase(
                    item_id=item,
                    title=titles.get(item),
                    occasions=int(n),
                    first_purchase=_day(first),
                    last_purchase=_day(last),
                )
            )
        if artifact.countries is not None:
            country = str(artifact.countries[row]) or None
    return TrainingData(
        model_version=artifact.version,
        known=row is not None,
        country=country,
        purchases=purchases,
        folded_events=_folded_events(artifact, customer_id),
    )


def live_data(events: list[LoggedEvent], snapshot: LiveSnapshot) -> LiveData:
    return LiveData(
        events=[LoggedEventOut(**to_record(e)) for e in events],
        purchases={item: n for item, (n, _last) in snapshot.purchases.items()},
        suppressed=sorted(snapshot.suppressed),
        negative=list(snapshot.negative),
        impressions={item: s.count for item, s in snapshot.shown.items()},
        last_contact=ms_to_iso(snapshot.last_contact_ms) if snapshot.last_contact_ms is not None else None,
        plans=dict(snapshot.plans),
    )


async def _segment(serving: Serving, cached: dict[str, dict[str, bytes]], customer_id: str) -> SegmentMembership | None:
    """Their segment in the newest version that has their store document."""
    for version, docs in cached.items():
        raw = docs.get(store_doc(customer_id))
        segment = segment_of_store_document(raw) if raw else None
        if segment is not None:
            doc = await json_document(serving.stores.primary, version, segment_doc(segment))
            return SegmentMembership(id=segment, name=(doc or {}).get("name"), model_version=version)
    return None


def _folded_events(artifact: Artifact, customer_id: str) -> list[LoggedEventOut]:
    path = artifact.path / "events.parquet" if artifact.path is not None else None
    if path is None or not path.is_file():
        return []
    frame = pd.read_parquet(path, filters=[("customer_id", "==", customer_id)])
    return [
        LoggedEventOut(
            id=str(r.id),
            customer_id=str(r.customer_id),
            item_id=str(r.item_id),
            type=str(r.type),
            timestamp=pd.Timestamp(r.timestamp).tz_localize(None).isoformat(),
            quantity=int(r.quantity),
            section=r.section if isinstance(r.section, str) else None,
        )
        for r in frame.itertuples()
    ]


def _titles(artifact: Artifact, item_ids: list[str]) -> dict[str, str]:
    catalog = artifact.catalog
    rows = catalog[catalog["item_id"].astype(str).isin(set(item_ids))]
    return {str(i): str(t) for i, t in zip(rows["item_id"], rows["title"]) if isinstance(t, str)}


def _day(day_number: float) -> str:
    return (EPOCH + timedelta(days=int(np.floor(day_number)))).isoformat()


def _decode(name: str, raw: bytes) -> Any:
    if documents.is_customer_doc(name):
        return [list(offer) for offer in contract.decode_offers(raw)]
    if documents.is_answer_doc(name):
        return decode_answer_rows(raw)
    return contract.decode_json(raw)
