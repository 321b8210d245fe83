"""An artifact whose lists are written in partitions reads back as the same artifact; a
damaged partition is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.contract.artifact import ArtifactCorruptError, load_artifact, save_artifact
from training.lists import LIST_NAMES


def test_partitions_read_back_equal_to_the_whole_lists(trained_artifacts: Path, tmp_path: Path) -> None:
    whole = load_artifact(trained_artifacts)
    save_artifact(whole, tmp_path, partition_rows=128)
    parted = load_artifact(tmp_path)
    assert sorted(p.name for p in parted.path.glob("lists*.npz"))[:2] == ["lists-00000.npz", "lists-00001.npz"]  # type: ignore[union-attr]
    for name in LIST_NAMES:
        assert np.array_equal(getattr(parted, name), getattr(whole, name)), name
    assert parted.manifest["list_partitions"][0] == [0, 128]


def test_a_short_partition_is_named(trained_artifacts: Path, tmp_path: Path) -> None:
    whole = load_artifact(trained_artifacts)
    directory = save_artifact(whole, tmp_path, partition_rows=128)
    with np.load(directory / "lists-00001.npz", allow_pickle=False) as f:
        arrays = {k: f[k][:-1] for k in f.files}
    np.savez(directory / "lists-00001.npz", **arrays)
    with pytest.raises(ArtifactCorruptError, match="lists-00001.npz"):
        load_artifact(tmp_path)
