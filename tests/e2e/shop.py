"""The shop's fixed data for the model-based test: the purchase file, the version every example
starts from, the customers and items the rules draw from, and the settings of the service.

Customers are drawn by role so a falsifying example reads like a story: `known-0` .. `known-3`
are customers of the trained version (two of them in a segment's sample, one with repeat
purchases), `new-0` and `new-1` are ids no version has ever seen. Items are a pool of what those
customers are shown at the start (their own offers, best-sellers, new arrivals), plus one id no
catalog knows.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from models import contract
from models.contract.artifact import Artifact, load_artifact, resolve_version_dir
from models.contract.documents import customer_documents, is_customer_doc
from service.preview.formatting import product
from service.settings import Settings
from training.pipeline import TrainInputs, TrainParams, train
from training.selection.select import QualityParams

API_KEY = "mbt-key-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {API_KEY}"}
MARKETER = ("marketer", API_KEY)
TRAIN_PARAMS = TrainParams(quality=QualityParams(tune=False, force=True))
DISMISS_SUPPRESS_S = 14 * 86_400  # longer than a short run's clock moves; long runs see some expire

KNOWN_ROLES = ("known-0", "known-1", "known-2", "known-3")
NEW_ROLES = ("new-0", "new-1")
ROLES = KNOWN_ROLES + NEW_ROLES
NEW_IDS = {"new-0": "mbt-new-0", "new-1": "mbt-new-1"}
UNKNOWN_ITEM = "MBT-NO-SUCH-ITEM"
ITEM_POOL_SIZE = 24


@dataclass(frozen=True)
class ShopData:
    purchases: Path  # the purchase file every train reads
    base: Path  # the version every example starts from (a version directory)
    scratch: Path  # where examples make their artifacts directories
    customers: dict[str, str]  # role -> customer id
    items: tuple[str, ...]  # the item pool, by index
    titles: dict[str, str]  # pool item -> its title as the preview prints it, where no other item shares it

    def new_artifacts_root(self, name: str) -> Path:
        """A fresh `train --out` directory holding a copy of the base version."""
        root = self.scratch / name / "artifacts"
        shutil.copytree(self.base, root / self.base.name)
        return root


def train_version(purchases: Path, root: Path) -> Path:
    """`microoffers train --no-tune --force` into `root`, honouring `root/privacy/forgotten.txt`."""
    written = train(TrainInputs(purchases, "online-retail"), root, TRAIN_PARAMS).path
    assert written is not None
    return written


def build_shop_data(purchases: Path, base_root: Path, scratch: Path) -> ShopData:
    base = resolve_version_dir(train_version(purchases, base_root))
    artifact = load_artifact(base)
    customers = {**dict(zip(KNOWN_ROLES, _known_customers(artifact))), **NEW_IDS}
    items = _item_pool(artifact, customers)
    return ShopData(purchases, base, scratch, customers, items, _printed_titles(artifact, items))


def _printed_titles(artifact: Artifact, items: tuple[str, ...]) -> dict[str, str]:
    printed = {str(i): product(str(t)) for i, t in zip(artifact.catalog["item_id"], artifact.catalog["title"])}
    shared = Counter(printed.values())
    return {item: printed[item] for item in items if item in printed and shared[printed[item]] == 1}


def _known_customers(artifact: Artifact) -> list[str]:
    """Two customers in segment samples (forgetting them must edit a shared document), one with
    repeat purchases (a buy-again section), and the first customer of the version."""
    sf = artifact.storefront
    assert sf is not None and sf.n_segments >= 2, "the base version needs segments"
    sampled = [str(sf.segments[g]["sample_customers"][0]) for g in (0, 1)]
    repeat = next(
        c for c in map(str, artifact.customers.ids) if c not in sampled and _own_documents(artifact, c)[1].get("b")
    )
    first = next(c for c in map(str, artifact.customers.ids) if c not in (*sampled, repeat))
    return [*sampled, repeat, first]


def _own_documents(artifact: Artifact, customer_id: str) -> tuple[list[contract.Offer], dict[str, object]]:
    row = artifact.customers.row(customer_id)
    assert row is not None
    offers: list[contract.Offer] = []
    store: dict[str, object] = {}
    for name, raw in customer_documents(artifact, customers=range(row, row + 1)):
        if is_customer_doc(name):
            offers = contract.decode_offers(raw)
        else:
            decoded = contract.decode_json(raw)
            assert isinstance(decoded, dict)
            store = decoded
    return offers, store


def _item_pool(artifact: Artifact, customers: dict[str, str]) -> tuple[str, ...]:
    """What the known customers see first (unbought picks, a bought item, a buy-again item),
    best-sellers, new arrivals, and an item no catalog knows."""
    pool: list[str] = []
    for role in KNOWN_ROLES:
        offers, store = _own_documents(artifact, customers[role])
        pool += [o.item_id for o in offers if not o.bought][:3]
        pool += [o.item_id for o in offers if o.bought][:1]
        pool += [str(entry[0]) for entry in store.get("b", [])][:1]  # type: ignore[attr-defined]
    popular = [str(artifact.items.ids[i]) for i in artifact.popular_items]
    pool += popular[:5]
    if artifact.storefront is not None:
        pool += [str(artifact.items.ids[i]) for i in artifact.storefront.new_items[:2] if i >= 0]
    unique = list(dict.fromkeys(pool + popular))[: ITEM_POOL_SIZE - 1]  # more best-sellers fill it up
    assert len(unique) == ITEM_POOL_SIZE - 1
    return (*unique, UNKNOWN_ITEM)


def service_settings(root: Path, redis_url: str | None = None, **overrides: object) -> Settings:
    """The service as the shop runs it, with limits that stay out of the way of the promises
    under test: no write rate limit (the checks read a lot), frequency capping off (every read
    is an impression), outbound quiet hours, rest days and holidays off (so dry runs show an offer), long dismissals."""
    values: dict[str, object] = {
        "artifacts": root,
        "redis_url": redis_url,
        "api_key": API_KEY,
        "access_log": False,
        "events_log": root / "events" / "events.jsonl",
        "write_rate_per_s": 1e6,
        "write_burst": 1_000_000,
        "cap_impressions": 1_000_000,
        "dismiss_suppress_s": DISMISS_SUPPRESS_S,
        "quiet_hours_start": time(0, 0),
        "quiet_hours_end": time(0, 0),
        "contact_rest_days": False,  # the real clock runs these tests: any day of the week
        "contact_holidays": False,
        "redis_timeout_s": 2.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
