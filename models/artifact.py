"""The versioned artifact a training run writes and the service and publisher read.

Layout of one version directory (`<out>/<version>/`):

    manifest.json   version, creation time, parameters, data fingerprint, counts, timings
    ids.npz         customer and item ids (row order of every matrix below); each customer's
                    country, when the purchases had one (outbound quiet hours use it)
    model.npz       the fitted model's arrays
    lists.npz       precomputed top-N per customer: discovery (unbought) and all
    popular.npz     item rows by popularity (cold start)
    history.npz     customer x item purchase counts (what the customer already has)
    replenishment.npz  per customer x item: occasions, first and last day (buy-again rhythm)
    catalog.parquet item_id, title, price, category, available, available_from, ...
    storefront.npz, segments.json, segment_offers.parquet
                    personal-store ingredients and micro-segments (see `models.storefront`)
    metrics.json    evaluation figures, when the run evaluated
    events.parquet  feedback events folded into this version (`train --events-from`), when any
    report.html     the same figures with plots, for people (optional)

Arrays only, loaded with `allow_pickle=False`: an artifact cannot run code. A version is written
into a hidden temporary directory and renamed into place when complete, so a reader never sees a
half-written one and a failed run leaves the previous versions untouched.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.als import ALSRecommender
from models.interactions import IdMap
from models.replenishment import ReplenishmentStats
from models.storefront import Storefront

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"


class ArtifactNotFoundError(FileNotFoundError):
    """No complete artifact version where one was expected."""


@dataclass
class Artifact:
    manifest: dict[str, Any]
    customers: IdMap
    items: IdMap
    model: ALSRecommender
    discovery_items: np.ndarray
    discovery_scores: np.ndarray
    all_items: np.ndarray
    all_scores: np.ndarray
    popular_items: np.ndarray
    popular_scores: np.ndarray
    history: sp.csr_matrix
    catalog: pd.DataFrame
    replenishment: ReplenishmentStats
    metrics: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, bytes] = field(default_factory=dict)  # extra files, e.g. report.html (written, not loaded)
    path: Path | None = None
    storefront: Storefront | None = None
    countries: np.ndarray | None = None  # per customer row; "" where unknown
    events: pd.DataFrame | None = None  # every feedback event folded in so far (see training.events)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def save_artifact(artifact: Artifact, out_dir: Path) -> Path:
    """Write `artifact` as `out_dir/<version>`, atomically. Returns the version directory."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / artifact.version
    if final.exists():
        raise FileExistsError(f"artifact version {artifact.version} already exists in {out_dir}")
    tmp = out_dir / f"{TMP_PREFIX}{artifact.version}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_files(artifact, tmp)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_files(a: Artifact, d: Path) -> None:
    countries = np.full(len(a.customers), "") if a.countries is None else np.asarray(a.countries, dtype=str)
    np.savez(d / "ids.npz", customers=a.customers.ids, items=a.items.ids, countries=countries)
    if a.events is not None:
        a.events.to_parquet(d / "events.parquet", index=False)
    a.model.save(d / "model.npz")
    np.savez(
        d / "lists.npz",
        discovery_items=a.discovery_items.astype(np.int32),
        discovery_scores=a.discovery_scores.astype(np.float32),
        all_items=a.all_items.astype(np.int32),
        all_scores=a.all_scores.astype(np.float32),
    )
    np.savez(d / "popular.npz", items=a.popular_items, scores=a.popular_scores)
    h = a.history.tocsr()
    np.savez(d / "history.npz", data=h.data, indices=h.indices, indptr=h.indptr, shape=h.shape)
    a.catalog.to_parquet(d / "catalog.parquet", index=False)
    np.savez(d / "replenishment.npz", **a.replenishment.arrays())
    if a.storefront is not None:
        a.storefront.save(d)
    (d / "metrics.json").write_text(json.dumps(a.metrics, indent=2, default=str))
    for name, content in a.reports.items():
        (d / name).write_bytes(content)
    # The manifest goes last: its presence marks a complete version.
    (d / MANIFEST).write_text(json.dumps(a.manifest, indent=2, default=str))


def resolve_version_dir(path: Path) -> Path:
    """`path` is either one version directory or a `train --out` directory: pick the newest
    complete version inside it."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    if not path.is_dir():
        raise ArtifactNotFoundError(f"no artifact at {path}: run `microoffers train --out {path}` first")
    versions = sorted(
        p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
    )
    if not versions:
        raise ArtifactNotFoundError(f"no complete artifact version in {path}: run `microoffers train` first")
    return versions[-1]


def load_artifact(path: Path, with_events: bool = False) -> Artifact:
    """The newest complete version at `path`. The folded-in event table is only read when asked
    for (`with_events`): training needs it, the service does not."""
    d = resolve_version_dir(path)
    manifest = json.loads((d / MANIFEST).read_text())
    with np.load(d / "ids.npz", allow_pickle=False) as ids:
        customers, items = IdMap.from_ids(ids["customers"]), IdMap.from_ids(ids["items"])
        countries = ids["countries"] if "countries" in ids.files else None
    with np.load(d / "lists.npz", allow_pickle=False) as lists:
        arrays = {k: lists[k] for k in lists.files}
    with np.load(d / "popular.npz", allow_pickle=False) as pop:
        popular_items, popular_scores = pop["items"], pop["scores"]
    with np.load(d / "history.npz", allow_pickle=False) as h:
        history = sp.csr_matrix((h["data"], h["indices"], h["indptr"]), shape=tuple(h["shape"]))
    with np.load(d / "replenishment.npz", allow_pickle=False) as r:
        replenishment = ReplenishmentStats.from_arrays({k: r[k] for k in r.files})
    metrics_file = d / "metrics.json"
    events_file = d / "events.parquet"
    return Artifact(
        manifest=manifest,
        customers=customers,
        items=items,
        model=ALSRecommender().load(d / "model.npz"),
        popular_items=popular_items,
        popular_scores=popular_scores,
        history=history,
        catalog=pd.read_parquet(d / "catalog.parquet"),
        replenishment=replenishment,
        metrics=json.loads(metrics_file.read_text()) if metrics_file.exists() else {},
        path=d,
        storefront=Storefront.load(d),
        countries=countries,
        events=pd.read_parquet(events_file) if with_events and events_file.exists() else None,
        **arrays,
    )
