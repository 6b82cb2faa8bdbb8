"""Deterministic train/val splits, written as a manifest into the run folder.

An image's side of the split depends only on its path, the seed and its class,
never on the order files were listed in: images are ordered by a hash of
(seed, path) within each class and the first share goes to validation.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from zazu.data.records import Dataset
from zazu.errors import DatasetError
from zazu.runs import atomic_write_json, read_json


def _key(seed: int, path: str) -> str:
    return hashlib.sha256(f"{seed}:{path}".encode()).hexdigest()


def split_dataset(dataset: Dataset, val_ratio: float, seed: int) -> dict[str, list[str]]:
    """{'train': [paths], 'val': [paths]}, stratified by class."""
    if dataset.given_split:
        return {name: sorted(paths) for name, paths in dataset.given_split.items()}
    by_class: dict[int | None, list[str]] = defaultdict(list)
    for record in dataset.records:
        by_class[record.label].append(record.path)
    split = {"train": [], "val": []}
    for paths in by_class.values():
        paths = sorted(set(paths), key=lambda p: _key(seed, p))
        n_val = round(len(paths) * val_ratio)
        if len(paths) >= 2:
            n_val = min(max(n_val, 1), len(paths) - 1)  # every class on both sides when it can be
        split["val"].extend(paths[:n_val])
        split["train"].extend(paths[n_val:])
    if not split["train"] or not split["val"]:
        raise DatasetError(
            f"{dataset.root}: {len(dataset.records)} image(s) cannot be split into train and val "
            f"with val_split={val_ratio}. Expected at least 2 images."
        )
    return {name: sorted(paths) for name, paths in split.items()}


def write_split(path: Path, dataset: Dataset, split: dict[str, list[str]], seed: int, val_ratio: float) -> None:
    atomic_write_json(path, {
        "dataset": str(dataset.root),
        "format": dataset.format,
        "classes": dataset.classes,
        "seed": seed,
        "val_split": val_ratio,
        "given_split": dataset.given_split is not None,
        **split,
    })


def read_split(path: str | Path) -> dict:
    return read_json(Path(path))
