"""The storefront a real training run writes: segments cover every customer once, lists hold
only what they promise, and the per-customer documents stay compact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import contract
from models.contract.artifact import load_artifact
from models.contract.documents import all_documents
from models.contract.store_blocks import store_documents
from models.contract.store_documents import (
    customer_store_document,
    data_end_day,
    similar_doc,
    similar_documents,
    store_doc,
)
from models.contract.storefront import Storefront
from training.storefront.similar import model_neighbours


@pytest.fixture(scope="module")
def artifact(trained_artifacts: Path):  # type: ignore[no-untyped-def]
    return load_artifact(trained_artifacts)


def _bought(a, row: int) -> set[int]:  # type: ignore[no-untyped-def]
    return set(a.history.indices[a.history.indptr[row] : a.history.indptr[row + 1]].tolist())


def test_every_customer_in_exactly_one_segment_of_minimum_size(artifact) -> None:  # type: ignore[no-untyped-def]
    sf = artifact.storefront
    assert sf.segment_of.shape == (len(artifact.customers),)
    sizes = np.bincount(sf.segment_of, minlength=sf.n_segments)
    assert len(sizes) == sf.n_segments > 1
    assert [s["size"] for s in sf.segments] == sizes.tolist()
    assert sizes.min() >= 20
    for seg in sf.segments:
        rows = artifact.customers.rows(seg["sample_customers"])
        assert (sf.segment_of[rows] == seg["id"]).all()
        assert seg["name"] and str(seg["size"]) in seg["description"]
    assert len({s["name"] for s in sf.segments}) == sf.n_segments


def test_segment_offers_are_mostly_unbought_and_lift_above_one(artifact) -> None:  # type: ignore[no-untyped-def]
    offers = artifact.storefront.offers
    assert len(offers) > 0
    assert (offers.segment_share < 0.5).all() and (offers.score > 1).all()
    assert offers.groupby("segment").item_row.apply(lambda s: s.is_unique).all()


def test_similar_items_exclude_the_item_itself(artifact) -> None:  # type: ignore[no-untyped-def]
    sims = artifact.storefront.similar_items
    assert sims.shape[0] == len(artifact.items)
    assert not (sims == np.arange(len(sims))[:, None]).any()
    assert (sims[:, 0] >= 0).mean() > 0.9
    als_ids, _ = model_neighbours(artifact.model, len(artifact.items), 5)
    assert not (als_ids == np.arange(len(als_ids))[:, None]).any()


def test_new_arrivals_are_new_and_not_bought(artifact) -> None:  # type: ignore[no-untyped-def]
    sf = artifact.storefront
    first_sold = pd.to_datetime(artifact.catalog.set_index("item_id")["first_sold"])
    end = pd.Timestamp(artifact.manifest["data_end"])
    recent = first_sold > end - pd.Timedelta(days=30)
    new = [str(artifact.items.ids[i]) for i in sf.new_items]
    assert new and recent[new].all()
    assert list(sf.new_scores) == sorted(sf.new_scores, reverse=True)  # most bought first
    for row in range(len(artifact.customers)):
        picks = [i for i in sf.customer_new_items[row].tolist() if i >= 0]
        assert not set(picks) & _bought(artifact, row)
        assert recent[[str(artifact.items.ids[i]) for i in picks]].all()


def test_store_documents_hold_only_what_they_promise(artifact) -> None:  # type: ignore[no-untyped-def]
    ids = artifact.items.ids
    end_day = data_end_day(artifact)
    anchors = 0
    for row in range(len(artifact.customers)):
        doc = customer_store_document(artifact, artifact.storefront, row, end_day)
        bought = {str(ids[i]) for i in _bought(artifact, row)}
        assert {b[0] for b in doc["b"]} <= bought  # buy again: only what they bought
        assert all(b[1] >= 1 for b in doc["b"])  # ... repeatedly, at least a day apart
        assert set(doc["x"]) <= bought
        if doc["a"]:
            anchors += 1
            assert doc["a"][0] in bought and not {i for i, _ in doc["a"][1]} & bought
    assert anchors > len(artifact.customers) * 0.8


def test_customer_documents_stay_compact(artifact) -> None:  # type: ignore[no-untyped-def]
    """A million customers must stay publishable: the store document is small next to the list."""
    sizes = {"c": [], "store": []}  # type: ignore[var-annotated]
    for name, payload in all_documents(artifact):
        kind = name.split(":")[0]
        if kind in sizes:
            sizes[kind].append(len(payload))
    assert len(sizes["store"]) == len(sizes["c"]) == len(artifact.customers)
    assert np.mean(sizes["store"]) < 1500
    contract.decode_json(payload)  # the last shared document is valid JSON too


def test_storefront_save_load_round_trip(artifact, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact.storefront.save(tmp_path)
    again = Storefront.load(tmp_path)
    assert again is not None
    assert np.array_equal(again.segment_of, artifact.storefront.segment_of)
    assert np.array_equal(again.similar_items, artifact.storefront.similar_items)
    assert again.segments == artifact.storefront.segments
    assert again.thresholds == artifact.storefront.thresholds
    pd.testing.assert_frame_equal(again.offers, artifact.storefront.offers)


def test_version_without_storefront_loads_as_none(tmp_path: Path) -> None:
    assert Storefront.load(tmp_path) is None


def test_store_documents_in_blocks_equal_the_per_customer_documents(artifact) -> None:  # type: ignore[no-untyped-def]
    """Publish encodes `store:` documents a block at a time; byte for byte the readable
    per-customer version (blocks of 97 rows, so block edges fall mid-way)."""
    end_day = data_end_day(artifact)
    expected = [
        (store_doc(cid), contract.encode_json(customer_store_document(artifact, artifact.storefront, row, end_day)))
        for row, cid in enumerate(artifact.customers.ids.tolist())
    ]
    produced = list(store_documents(artifact, block=97))
    assert produced == expected
    docs = [contract.decode_json(doc) for _, doc in produced]
    assert all(any(d[part] for d in docs) for part in "banx")  # type: ignore[index]
    assert list(store_documents(artifact, range(5, 9))) == expected[5:9]


def _similar_one_by_one(ids: np.ndarray, items: np.ndarray, scores: np.ndarray) -> list[tuple[str, bytes]]:
    """The readable per-item version of `similar_documents`."""
    out = []
    for row, item_id in enumerate(ids.tolist()):
        offers = [contract.Offer(str(ids[i]), float(s)) for i, s in zip(items[row], scores[row]) if i >= 0]
        if offers:
            out.append((similar_doc(item_id), contract.encode_offers(offers)))
    return out


def test_similar_documents_in_blocks_equal_the_per_item_documents(artifact) -> None:  # type: ignore[no-untyped-def]
    sf = artifact.storefront
    expected = _similar_one_by_one(artifact.items.ids, sf.similar_items, sf.similar_scores)
    assert len(expected) > 10
    assert list(similar_documents(artifact.items.ids, sf.similar_items, sf.similar_scores, block=7)) == expected


def test_similar_documents_skip_gaps_and_items_without_neighbours() -> None:
    """Neighbour rows of -1 anywhere in a row (not only at its end) are left out, an item with
    none gets no document, and scores round as the per-item encoding does."""
    rng = np.random.default_rng(3)
    ids = np.array([f"I{i:03d}" for i in range(40)])
    items = rng.integers(-1, 40, size=(40, 6)).astype(np.int32)
    items[[0, 17, 39]] = -1
    scores = rng.normal(size=(40, 6)).astype(np.float32)
    scores[5, :] = [1 / 3, 2e-7, -0.0, 1e-5, 0.1234565, 123456.789]
    expected = _similar_one_by_one(ids, items, scores)
    produced = list(similar_documents(ids, items, scores, block=16))
    assert produced == expected
    assert similar_doc("I000") not in dict(produced) and len(produced) == 37
