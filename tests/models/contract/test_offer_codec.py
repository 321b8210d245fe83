"""Offer lists as stored: encoded and decoded unchanged, the vectorised encoder equal to the
per-offer one, and the block-wise documents equal to the per-customer path."""

from __future__ import annotations

import numpy as np

from models.contract import Offer, decode_offers, encode_offer_rows, encode_offers
from models.rules.ranking import customer_offers

OFFERS = [Offer("a", 0.9, True), Offer("b", 0.8), Offer("c", 0.7), Offer("b", 0.6), Offer("d", 0.5)]


def test_encode_decode_roundtrip() -> None:
    assert decode_offers(encode_offers(OFFERS)) == OFFERS


def test_block_merge_and_encoding_equal_the_per_customer_path(trained_artifacts) -> None:  # type: ignore[no-untyped-def]
    from models.contract.artifact import load_artifact
    from models.contract.documents import customer_doc, customer_documents, is_customer_doc
    from models.contract.store_blocks import store_documents

    a = load_artifact(trained_artifacts)
    lists = (a.discovery_items, a.discovery_scores, a.all_items, a.all_scores, a.history, a.items.ids)
    expected = {
        customer_doc(cid): encode_offers(customer_offers(row, *lists))
        for row, cid in enumerate(a.customers.ids.tolist())
    }
    everything = list(customer_documents(a, chunk=97))
    produced = {name: doc for name, doc in everything if is_customer_doc(name)}
    assert produced == expected
    # each customer's `store:` document follows their `c:` document, also across blocks
    stores = list(store_documents(a))
    assert stores and everything[1::2] == stores
    assert any(o.bought for doc in produced.values() for o in decode_offers(doc))


def test_encode_offer_rows_rounds_like_python() -> None:
    rng = np.random.default_rng(2)
    scores = (rng.standard_normal((50, 8)) * 10.0 ** rng.integers(-7, 3, (50, 1))).astype(np.float32)
    item_ids = np.array([f"i{j}" for j in range(20)], dtype=object)
    items = rng.integers(0, 20, (50, 8))
    bought = rng.random((50, 8)) < 0.3
    lengths = rng.integers(0, 9, 50)
    rows = encode_offer_rows(item_ids, items, scores, bought, lengths)
    for r in range(50):
        offers = [Offer(item_ids[items[r, j]], float(scores[r, j]), bool(bought[r, j])) for j in range(lengths[r])]
        assert rows[r] == encode_offers(offers)
