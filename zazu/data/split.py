"""Deterministic train/val splits, written as a manifest into the run folder.

An image's side of the split depends only on its path, the seed and its class,
never on the order files were listed in: images are ordered by a hash of
(seed, path) within each class and the first share goes to validation.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from zazu.atomic_io import atomic_write_json, read_json
from zazu.data.records import SPLIT_NAMES, TEST, TRAIN, VAL, Dataset
from zazu.errors import DatasetError


def _key(seed: int, path: str) -> str:
    return hashlib.sha256(f"{seed}:{path}".encode()).hexdigest()


def split_dataset(dataset: Dataset, val_ratio: float, seed: int, test_ratio: float = 0.0) -> dict[str, list[str]]:
    """{'train': [paths], 'val': [paths]} (and 'test' when test_ratio > 0), stratified by class."""
    if dataset.given_split:
        empty = [name for name in (TRAIN, VAL) if not dataset.given_split.get(name)]
        if empty:
            raise DatasetError(f"{dataset.root}: the dataset's own split has no usable image in "
                               f"{' and '.join(empty)}. Expected readable images on both sides.")
        return {name: sorted(paths) for name, paths in dataset.given_split.items()}
    # Files with the same bytes form one group, so a duplicate never straddles train and val.
    groups: dict[int | None, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for record in dataset.records:
        head = dataset.duplicates.get(record.path, record.path)
        groups[record.label][head].append(record.path)
    split: dict[str, list[str]] = {"train": [], "val": [], **({"test": []} if test_ratio > 0 else {})}
    for by_head in groups.values():
        n = sum(len(members) for members in by_head.values())
        n_val = round(n * val_ratio)
        if n >= 2:
            n_val = min(max(n_val, 1), n - 1)  # every class on both sides when it can be
        n_test = min(round(n * test_ratio), n - n_val - 1) if test_ratio > 0 else 0
        quota = {"val": n_val, "test": n_test}
        for head in sorted(by_head, key=lambda h: _key(seed, h)):
            side = next((s for s in (VAL, TEST) if quota[s] > 0), TRAIN)
            split[side].extend(by_head[head])
            if side != "train":
                quota[side] -= len(by_head[head])
    if not split["train"] or not split["val"]:
        raise DatasetError(
            f"{dataset.root}: {len(dataset.records)} image(s) cannot be split into train and val "
            f"with val_split={val_ratio}. Expected at least 2 images."
        )
    return {name: sorted(paths) for name, paths in split.items()}


def write_split(path: Path, dataset: Dataset, split: dict[str, list[str]], seed: int, val_ratio: float,
                test_ratio: float = 0.0, records_file: str | None = None) -> None:
    atomic_write_json(path, {
        "dataset": str(dataset.root),
        "format": dataset.format,
        "classes": dataset.classes,
        "seed": seed,
        "val_split": val_ratio,
        "test_split": test_ratio,
        "given_split": dataset.given_split is not None,
        "records": records_file,
        **split,
    })


def read_split(path: str | Path) -> dict:
    return read_json(Path(path))


def split_sides(dataset: Dataset, split, source: str | Path) -> dict[str, list]:
    """{side: [records]} for the sides `split` (split.json as read from `source`) lists. A file that does not
    fit the run's dataset (edited, or from another run) is one RunFolderError naming `source`, refused
    before a trial fails on it: a failed trial is never run again."""
    from zazu.errors import RunFolderError

    def refuse(error: str):
        return RunFolderError.not_as_written(source, error, "the split")

    if not isinstance(split, dict):
        raise refuse(f"must be a JSON object. Received: {type(split).__name__}")
    by_path = {r.path: r for r in dataset.records}
    sides, side_of = {}, {}
    for name in SPLIT_NAMES:
        if name not in split and name == TEST:
            continue
        paths = split.get(name)
        if not isinstance(paths, list) or (name != "test" and not paths):
            raise refuse(f"`{name}` must be a non-empty list of image paths. Received: {name}={str(paths)[:80]}")
        for path in paths:
            if not isinstance(path, str) or path not in by_path:
                raise refuse(f"`{name}` lists {str(path)[:120]!r}, which is not an image of the run's dataset.json")
            if side_of.setdefault(path, name) != name:
                raise refuse(f"{path!r} is on both the {side_of[path]} and the {name} side")
        sides[name] = [by_path[p] for p in paths]
    return sides
