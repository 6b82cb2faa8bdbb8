"""split_dataset: deterministic, order-independent, stratified train/val splits."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from zazu.data.readers.folder import read_folder_dataset
from zazu.data.records import Dataset, ImageRecord
from zazu.data.split import read_split, split_dataset, write_split
from zazu.errors import DatasetError

COUNTS = {"cat": 10, "dog": 20, "fox": 30}


def write_png(path: Path, value: int) -> None:
    """A tiny 8x8 PNG whose pixels encode `value`, so no two images share bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (value % 256, (value // 256) % 256, 7)).save(path)


def write_class_folders(root: Path, counts: dict[str, int]) -> Path:
    n = 0
    for name, count in counts.items():
        for i in range(count):
            write_png(root / name / f"{name}_{i:03d}.png", n)
            n += 1
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    return read_folder_dataset(write_class_folders(tmp_path_factory.mktemp("split3"), COUNTS))


def label_of(path: str) -> str:
    return path.split("/")[0]


def test_dataset_fixture_has_the_expected_classes(dataset):
    assert dataset.classes == ["cat", "dog", "fox"]
    assert len(dataset.records) == 60
    assert dataset.given_split is None


def test_split_is_identical_across_calls(dataset):
    assert split_dataset(dataset, 0.2, seed=0) == split_dataset(dataset, 0.2, seed=0)


def test_split_does_not_depend_on_record_order(dataset):
    shuffled = list(dataset.records)
    random.Random(5).shuffle(shuffled)
    assert shuffled != dataset.records
    assert split_dataset(replace(dataset, records=shuffled), 0.2, seed=0) == split_dataset(dataset, 0.2, seed=0)


def test_split_changes_with_the_seed(dataset):
    a = split_dataset(dataset, 0.2, seed=0)
    b = split_dataset(dataset, 0.2, seed=1)
    assert a["val"] != b["val"]
    assert len(a["val"]) == len(b["val"])


def test_split_covers_every_image_exactly_once(dataset):
    split = split_dataset(dataset, 0.2, seed=0)
    assert set(split) == {"train", "val"}
    assert not set(split["train"]) & set(split["val"])
    assert sorted(split["train"] + split["val"]) == sorted(r.path for r in dataset.records)
    assert split["train"] == sorted(split["train"])
    assert split["val"] == sorted(split["val"])


@pytest.mark.parametrize("ratio", [0.1, 0.2, 0.25, 0.5])
def test_split_is_stratified_by_class(dataset, ratio):
    split = split_dataset(dataset, ratio, seed=3)
    for name, n in COUNTS.items():
        n_val = sum(label_of(p) == name for p in split["val"])
        assert abs(n_val - ratio * n) <= 1, (name, n_val)


def test_every_class_is_on_both_sides_even_when_small(tmp_path):
    ds = read_folder_dataset(write_class_folders(tmp_path, {"a": 2, "b": 3, "c": 40}))
    for ratio in (0.01, 0.2, 0.99):
        split = split_dataset(ds, ratio, seed=0)
        for side in ("train", "val"):
            assert {label_of(p) for p in split[side]} == {"a", "b", "c"}, (ratio, side)


def test_a_single_image_class_goes_to_train(tmp_path):
    ds = read_folder_dataset(write_class_folders(tmp_path, {"one": 1, "many": 10}))
    split = split_dataset(ds, 0.2, seed=0)
    assert "one/one_000.png" in split["train"]


def test_too_few_images_to_split(tmp_path):
    ds = read_folder_dataset(write_class_folders(tmp_path, {"only": 1}))
    with pytest.raises(DatasetError) as info:
        split_dataset(ds, 0.2, seed=0)
    assert str(tmp_path) in str(info.value)


def test_given_train_val_folders_are_used_as_given(tmp_path):
    n = 0
    for side, count in (("train", 4), ("val", 2)):
        for name in ("cat", "dog"):
            for i in range(count):
                write_png(tmp_path / side / name / f"{i}.png", n)
                n += 1
    ds = read_folder_dataset(tmp_path)
    assert ds.classes == ["cat", "dog"]
    split = split_dataset(ds, 0.5, seed=9)  # ratio and seed do not matter for a given split
    assert split["train"] == sorted(f"train/{c}/{i}.png" for c in ("cat", "dog") for i in range(4))
    assert split["val"] == sorted(f"val/{c}/{i}.png" for c in ("cat", "dog") for i in range(2))
    assert split == split_dataset(ds, 0.2, seed=0)


def test_duplicate_files_stay_on_one_side():
    records = [ImageRecord(f"c/{i}.png", 0) for i in range(20)]
    duplicates = {f"c/{i}.png": "c/0.png" for i in range(1, 6)}  # 0..5 share bytes
    ds = Dataset(root=Path("/ds"), format="folder", classes=["c"], records=records, duplicates=duplicates)
    for seed in range(5):
        split = split_dataset(ds, 0.2, seed=seed)
        group = {f"c/{i}.png" for i in range(6)}
        assert group <= set(split["train"]) or group <= set(split["val"]), seed


def test_test_ratio_adds_a_disjoint_stratified_test_side(dataset):
    split = split_dataset(dataset, 0.2, seed=0, test_ratio=0.1)
    assert set(split) == {"train", "val", "test"}
    sides = [set(split[s]) for s in ("train", "val", "test")]
    assert sum(map(len, sides)) == 60 == len(set().union(*sides))
    for name, n in COUNTS.items():
        assert abs(sum(label_of(p) == name for p in split["test"]) - 0.1 * n) <= 1


def test_write_and_read_split_manifest(dataset, tmp_path):
    split = split_dataset(dataset, 0.2, seed=0)
    path = tmp_path / "run" / "split.json"
    write_split(path, dataset, split, seed=0, val_ratio=0.2)
    manifest = read_split(path)
    assert manifest["train"] == split["train"]
    assert manifest["val"] == split["val"]
    assert manifest["classes"] == ["cat", "dog", "fox"]
    assert (manifest["seed"], manifest["val_split"], manifest["given_split"]) == (0, 0.2, False)


def test_given_split_without_readable_val_images_is_an_error(tmp_path):
    write_png(tmp_path / "train" / "cat" / "a.png", 1)
    write_png(tmp_path / "train" / "dog" / "b.png", 2)
    (tmp_path / "val" / "cat").mkdir(parents=True)
    (tmp_path / "val" / "cat" / "bad.png").write_bytes(b"not a png")
    ds = read_folder_dataset(tmp_path)
    with pytest.raises(DatasetError):
        split_dataset(ds, 0.2, seed=0)
