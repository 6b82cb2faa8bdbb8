"""read_folder_dataset: folder-per-class layout, unreadable images left out with a warning."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from zazu.data.readers.folder import read_folder_dataset
from zazu.errors import DatasetError


def write_png(path: Path, value: int = 0, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (value % 256, 40, 90)).save(path)


def truncated_png_bytes() -> bytes:
    """A valid header and the first half of the pixel data of a noisy 64x64 PNG."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(buf, format="PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


@pytest.fixture
def root(tmp_path) -> Path:
    for i in range(3):
        write_png(tmp_path / "cat" / f"c{i}.png", i)
        write_png(tmp_path / "dog" / f"d{i}.png", 10 + i)
    return tmp_path


def test_reads_folder_per_class(root):
    ds = read_folder_dataset(root)
    assert ds.format == "folder"
    assert ds.root == root
    assert ds.classes == ["cat", "dog"]
    assert sorted((r.path, r.label) for r in ds.records) == [
        ("cat/c0.png", 0), ("cat/c1.png", 0), ("cat/c2.png", 0),
        ("dog/d0.png", 1), ("dog/d1.png", 1), ("dog/d2.png", 1),
    ]
    assert ds.given_split is None
    assert ds.warnings == []


def test_non_image_and_hidden_files_are_ignored(root):
    (root / "cat" / "notes.txt").write_text("not an image")
    write_png(root / "cat" / ".hidden.png")
    (root / ".git").mkdir()
    write_png(root / ".git" / "x.png")
    ds = read_folder_dataset(root)
    assert ds.classes == ["cat", "dog"]
    assert len(ds.records) == 6
    assert ds.warnings == []


def test_corrupt_file_is_left_out_with_a_warning_naming_it(root):
    (root / "cat" / "x.png").write_bytes(os.urandom(300))
    ds = read_folder_dataset(root)
    assert "cat/x.png" not in {r.path for r in ds.records}
    assert len(ds.records) == 6
    assert len(ds.warnings) == 1
    assert ds.warnings[0].startswith("cat/x.png: ")
    assert "unreadable" in ds.warnings[0]


def test_truncated_png_is_left_out_with_a_warning_naming_it(root):
    (root / "dog" / "cut.png").write_bytes(truncated_png_bytes())
    with Image.open(root / "dog" / "cut.png") as im:  # the header alone still opens
        assert im.size == (64, 64)
    ds = read_folder_dataset(root)
    assert "dog/cut.png" not in {r.path for r in ds.records}
    assert len(ds.warnings) == 1
    assert "dog/cut.png" in ds.warnings[0]


def test_folder_without_class_dirs_names_the_folder(tmp_path):
    write_png(tmp_path / "loose.png")
    with pytest.raises(DatasetError) as info:
        read_folder_dataset(tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg
    assert "no class folders" in msg


def test_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(DatasetError) as info:
        read_folder_dataset(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)


def test_class_folder_with_only_unreadable_images_is_an_error(root):
    (root / "empty").mkdir()
    (root / "empty" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError) as info:
        read_folder_dataset(root)
    assert "empty" in str(info.value)


def test_no_readable_images_at_all_is_an_error(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="no readable images"):
        read_folder_dataset(tmp_path)


def test_train_and_val_top_folders_give_the_split(tmp_path):
    write_png(tmp_path / "train" / "cat" / "a.png", 1)
    write_png(tmp_path / "train" / "dog" / "b.png", 2)
    write_png(tmp_path / "val" / "cat" / "c.png", 3)
    write_png(tmp_path / "val" / "dog" / "d.png", 4)
    ds = read_folder_dataset(tmp_path)
    assert ds.classes == ["cat", "dog"]
    assert ds.given_split == {"train": ["train/cat/a.png", "train/dog/b.png"],
                              "val": ["val/cat/c.png", "val/dog/d.png"]}
    assert {r.path: r.label for r in ds.records}["val/dog/d.png"] == 1


def test_a_lone_train_folder_is_just_a_class(tmp_path):
    write_png(tmp_path / "train" / "a.png", 1)
    write_png(tmp_path / "other" / "b.png", 2)
    ds = read_folder_dataset(tmp_path)
    assert ds.classes == ["other", "train"]
    assert ds.given_split is None
