"""The embedded default dataset is deterministic and reads through the ordinary folder reader."""

from __future__ import annotations

import hashlib

from zazu.data.readers.folder import read_folder_dataset
from zazu.data.synthetic import SHAPES, ensure_synthetic, write_classification_dataset


def _digest(folder) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.png")):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = write_classification_dataset(tmp_path / "a", per_class=3, size=32, seed=7)
    b = write_classification_dataset(tmp_path / "b", per_class=3, size=32, seed=7)
    c = write_classification_dataset(tmp_path / "c", per_class=3, size=32, seed=8)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_folder_reader_sees_every_class_and_image(tmp_path):
    root = write_classification_dataset(tmp_path / "d", per_class=4, size=32, seed=0)
    dataset = read_folder_dataset(root)
    assert dataset.classes == sorted(SHAPES)
    assert len(dataset.records) == 4 * len(SHAPES)
    assert not dataset.warnings


def test_ensure_synthetic_generates_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    first = ensure_synthetic("classification", seed=1)
    mtime = first.stat().st_mtime_ns
    assert ensure_synthetic("classification", seed=1) == first
    assert first.stat().st_mtime_ns == mtime
    assert len(list(first.rglob("*.png"))) == 150 * len(SHAPES)
    assert first.is_relative_to(tmp_path / "cache")
