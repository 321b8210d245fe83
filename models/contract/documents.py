"""Everything a published version consists of, as (name, bytes) documents.

`training.publish` writes each document to Redis as `mo:v:<version>:<name>`; the service's
embedded store keeps the very same documents in a dict. One producer, two stores: they cannot
answer differently. New per-version data (personal stores, segments, similar items, ...) is
added here as more documents, and both stores serve it without new store code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from models import contract
from models.contract.answer_fragments import ANSWER_ITEMS, encode_answer_rows
from models.contract.artifact import Artifact
from models.contract.store_blocks import store_documents
from models.contract.store_documents import shared_store_documents, store_doc
from models.rules.catalog import catalog_from_frame
from models.rules.ranking import merged_candidates, popular_offers

POPULAR = "popular"
CATALOG = "catalog"
MANIFEST = "manifest"


CUSTOMER_PREFIX = "c:"
ANSWER_PREFIX = "a:"


def customer_doc(customer_id: str) -> str:
    return f"{CUSTOMER_PREFIX}{customer_id}"


def answer_doc(customer_id: str) -> str:
    """The customer's pre-rendered `/recommend` answer (`models.contract.answer_fragments`)."""
    return f"{ANSWER_PREFIX}{customer_id}"


def personal_documents(customer_id: str) -> tuple[str, str, str]:
    """The documents of a version that are about one customer: their list, store ingredients and
    pre-rendered answer (what forgetting a customer removes; segment samples are edited, see
    `store_documents`)."""
    return customer_doc(customer_id), store_doc(customer_id), answer_doc(customer_id)


def is_customer_doc(name: str) -> bool:
    """True for the one `c:` document every known customer has (publish counts them)."""
    return name.startswith(CUSTOMER_PREFIX)


def is_answer_doc(name: str) -> bool:
    return name.startswith(ANSWER_PREFIX)


def customer_documents(
    artifact: Artifact, chunk: int = 4096, customers: range | None = None, answers: bool = False
) -> Iterator[tuple[str, bytes]]:
    """Per known customer (or per customer row in `customers`): their merged candidate list
    (`c:`, see `models.rules.ranking`; merged and encoded a block at a time), each followed by their
    personal-store ingredients (`store:`, see `models.contract.store_documents`) when trained,
    and with `answers` by their pre-rendered answer (`a:`, read by the service's hot path only,
    so the embedded store does without)."""
    a = artifact
    item_ids = a.items.ids.astype(object)
    todo = customers if customers is not None else range(len(a.customers))
    stores = store_documents(a, todo)
    for start in range(todo.start, todo.stop, chunk):
        rows = slice(start, min(start + chunk, todo.stop))
        items, scores, bought, lengths = merged_candidates(
            rows, a.discovery_items, a.discovery_scores, a.all_items, a.all_scores, a.history
        )
        payloads = contract.encode_offer_rows(item_ids, items, scores, bought, lengths)
        ids = a.customers.ids[rows].tolist()
        if answers:
            yield from zip(map(answer_doc, ids), encode_answer_rows(items, scores, bought, lengths))
        for document in zip(map(customer_doc, ids), payloads):
            yield document
            yield from itertools.islice(stores, 1)


def shared_documents(artifact: Artifact) -> Iterator[tuple[str, bytes]]:
    """Documents shared by all customers: popularity, catalog, manifest, and the store's similar
    items, trending, new arrivals and segments."""
    a = artifact
    popular = popular_offers(a.popular_items, a.popular_scores, a.items.ids)
    yield POPULAR, contract.encode_offers(popular)
    catalog = {k: v.to_json() for k, v in catalog_from_frame(a.catalog).items()}
    yield CATALOG, contract.encode_json(catalog)
    yield ANSWER_ITEMS, contract.encode_json(a.items.ids.tolist())
    yield MANIFEST, contract.encode_json({**a.manifest, "metrics": a.metrics})
    yield from shared_store_documents(a)


def all_documents(artifact: Artifact) -> Iterator[tuple[str, bytes]]:
    yield from customer_documents(artifact)
    yield from shared_documents(artifact)
