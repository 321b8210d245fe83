"""The versioned artifact a training run writes and the service and publisher read.

Layout of one version directory (`<out>/<version>/`):

    manifest.json   version, creation time, parameters, data fingerprint, counts, timings; the
                    chosen models (`selection.models`: family, parameters as JSON, blend parts),
                    validated on loading by `models.algorithms.registry`
    ids.npz         customer and item ids (row order of every matrix below); each customer's
                    country, when the purchases had one (outbound quiet hours use it)
    model.npz       the ALS model (`factors_model`) the service folds customers into: its arrays
                    and parameters
    lists.npz       precomputed top-N per customer: discovery (unbought) and all; or, in an
                    artifact written in partitions (the Spark engine's), lists-00000.npz, ...
                    each holding a contiguous range of customer rows (`list_partitions` in the
                    manifest); the reader concatenates them, so readers see one artifact
    popular.npz     item rows by popularity (cold start)
    history.npz     customer x item purchase counts (what the customer already has)
    replenishment.npz  per customer x item: occasions, first and last day (buy-again rhythm)
    catalog.parquet item_id, title, price, category, available, available_from, ...
    storefront.npz, segments.json, segment_offers.parquet
                    personal-store ingredients and micro-segments (see `models.contract.storefront`)
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
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.algorithms.als import ALSRecommender
from models.algorithms.interactions import IdMap
from models.algorithms.registry import check_description, load_model
from models.contract.storefront import Storefront
from models.rules.replenishment import ReplenishmentStats

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"
LISTS = "lists.npz"
LIST_ARRAYS = ("discovery_items", "discovery_scores", "all_items", "all_scores")
PARTITIONS_KEY = "list_partitions"  # in the manifest: [[first row, end row), ...] of lists-NNNNN.npz


class ArtifactNotFoundError(FileNotFoundError):
    """No complete artifact version where one was expected."""


class ArtifactCorruptError(ValueError):
    """A version directory has its manifest but a file in it is missing or unreadable (copied
    in part, truncated, edited by hand). The message names the file."""


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
    events: pd.DataFrame | None = None  # every feedback event folded in so far (see training.data.events)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def save_artifact(artifact: Artifact, out_dir: Path, partition_rows: int | None = None) -> Path:
    """Write `artifact` as `out_dir/<version>`, atomically. Returns the version directory.
    With `partition_rows`, the per-customer lists go into files of that many customers each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / artifact.version
    if final.exists():
        raise FileExistsError(f"artifact version {artifact.version} already exists in {out_dir}")
    tmp = out_dir / f"{TMP_PREFIX}{artifact.version}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_files(artifact, tmp, partition_rows)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_files(a: Artifact, d: Path, partition_rows: int | None = None) -> None:
    countries = np.full(len(a.customers), "") if a.countries is None else np.asarray(a.countries, dtype=str)
    np.savez(d / "ids.npz", customers=a.customers.ids, items=a.items.ids, countries=countries)
    if a.events is not None:
        a.events.to_parquet(d / "events.parquet", index=False)
    a.model.save(d / "model.npz")
    manifest = dict(a.manifest)
    if partition_rows is None:
        _write_lists(a, d / LISTS, 0, len(a.customers))
    else:
        n = len(a.customers)
        bounds = [(start, min(start + partition_rows, n)) for start in range(0, max(n, 1), partition_rows)]
        for i, (start, stop) in enumerate(bounds):
            _write_lists(a, d / partition_file(i), start, stop)
        manifest[PARTITIONS_KEY] = [list(b) for b in bounds]
    np.savez(d / "popular.npz", items=a.popular_items, scores=a.popular_scores)
    h = a.history.tocsr()
    np.savez(d / "history.npz", data=h.data, indices=h.indices, indptr=h.indptr, shape=h.shape)
    a.catalog.to_parquet(d / "catalog.parquet", index=False)
    np.savez(d / "replenishment.npz", **a.replenishment.arrays())  # type: ignore[arg-type]  # numpy's stub
    if a.storefront is not None:
        a.storefront.save(d)
    (d / "metrics.json").write_text(json.dumps(a.metrics, indent=2, default=str))
    for name, content in a.reports.items():
        (d / name).write_bytes(content)
    # The manifest goes last: its presence marks a complete version.
    (d / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))


def partition_file(i: int) -> str:
    return f"lists-{i:05d}.npz"


def _write_lists(a: Artifact, path: Path, start: int, stop: int) -> None:
    arrays = {name: getattr(a, name)[start:stop] for name in LIST_ARRAYS}
    np.savez(path, **{name: v.astype(np.int32 if name.endswith("items") else np.float32) for name, v in arrays.items()})


def list_partitions(manifest: dict[str, Any], n_customers: int) -> list[tuple[int, int]]:
    """The customer row ranges of the list files: one range for `lists.npz`."""
    return [(int(a), int(b)) for a, b in manifest.get(PARTITIONS_KEY, [[0, n_customers]])]


def _read_lists(d: Path, manifest: dict[str, Any], n_customers: int) -> dict[str, Any]:
    """The lists as one array each, whether written whole or in partitions."""
    if PARTITIONS_KEY not in manifest:
        with _reading(d, LISTS) as f, np.load(f, allow_pickle=False) as lists:
            return {k: lists[k] for k in lists.files}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in LIST_ARRAYS}
    for i, (start, stop) in enumerate(list_partitions(manifest, n_customers)):
        with _reading(d, partition_file(i)) as f, np.load(f, allow_pickle=False) as lists:
            for name in LIST_ARRAYS:
                if len(lists[name]) != stop - start:
                    raise ValueError(f"{len(lists[name])} rows of {name}, the manifest says {stop - start}")
                parts[name].append(lists[name])
    return {name: np.concatenate(values) for name, values in parts.items()}


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


def artifacts_root(path: Path) -> Path:
    """The `train --out` directory of `path` (itself, or the parent of one version directory):
    where data that outlives every version lives (event log, deny list)."""
    path = Path(path)
    return path.parent if (path / MANIFEST).is_file() else path


# What reading a damaged file raises: missing (OSError), truncated zip, bad JSON or parquet
# (ValueError, incl. pyarrow's ArrowInvalid), an array or field missing (KeyError, TypeError).
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


@contextmanager
def _reading(d: Path, name: str) -> Iterator[Path]:
    try:
        yield d / name
    except _READ_ERRORS as exc:
        raise ArtifactCorruptError(
            f"artifact {d}: {name} is missing or unreadable ({type(exc).__name__}: {exc}); "
            "retrain, or remove this version to fall back to the previous one"
        ) from exc


def load_artifact(path: Path, with_events: bool = False) -> Artifact:
    """The newest complete version at `path`. The folded-in event table is only read when asked
    for (`with_events`): training needs it, the service does not. A damaged version raises
    `ArtifactCorruptError` naming the file."""
    d = resolve_version_dir(path)
    with _reading(d, MANIFEST) as f:
        manifest = json.loads(f.read_text())
        for described in manifest.get("selection", {}).get("models", {}).values():
            check_description(described)
    with _reading(d, "ids.npz") as f, np.load(f, allow_pickle=False) as ids:
        customers, items = IdMap.from_ids(ids["customers"]), IdMap.from_ids(ids["items"])
        countries = ids["countries"] if "countries" in ids.files else None
    arrays = _read_lists(d, manifest, len(customers))
    with _reading(d, "popular.npz") as f, np.load(f, allow_pickle=False) as pop:
        popular_items, popular_scores = pop["items"], pop["scores"]
    with _reading(d, "history.npz") as f, np.load(f, allow_pickle=False) as h:
        history = sp.csr_matrix((h["data"], h["indices"], h["indptr"]), shape=tuple(h["shape"]))
    with _reading(d, "replenishment.npz") as f, np.load(f, allow_pickle=False) as r:
        replenishment = ReplenishmentStats.from_arrays({k: r[k] for k in r.files})
    with _reading(d, "model.npz") as f:
        model = load_model(str(manifest.get("factors_model", ALSRecommender.name)), f)
        if not isinstance(model, ALSRecommender):
            raise TypeError(f"the factors model must be {ALSRecommender.name!r}, not {model.name!r}")
    with _reading(d, "catalog.parquet") as f:
        catalog = pd.read_parquet(f)
    with _reading(d, "metrics.json") as f:
        metrics = json.loads(f.read_text()) if f.exists() else {}
    with _reading(d, "storefront files"):
        storefront = Storefront.load(d)
    with _reading(d, "events.parquet") as f:
        events = pd.read_parquet(f) if with_events and f.exists() else None
    return Artifact(
        manifest=manifest,
        customers=customers,
        items=items,
        model=model,
        popular_items=popular_items,
        popular_scores=popular_scores,
        history=history,
        catalog=catalog,
        replenishment=replenishment,
        metrics=metrics,
        path=d,
        storefront=storefront,
        countries=countries,
        events=events,
        **arrays,
    )
