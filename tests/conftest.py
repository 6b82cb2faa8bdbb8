"""Shared fixtures. All data is generated here or comes from scikit-learn; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Synthetic datasets go to a per-session folder, never the user's ~/.cache."""
    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path_factory.getbasetemp() / "zazu-cache"))


@pytest.fixture(scope="session")
def shapes_dataset(tmp_path_factory) -> Path:
    """Folder-per-class: 4 shape classes x 6 images of 32 px."""
    from zazu.data.synthetic import write_classification_dataset

    return write_classification_dataset(tmp_path_factory.mktemp("shapes"), per_class=6, size=32, seed=3)


@pytest.fixture(scope="session")
def digits_dataset(tmp_path_factory) -> Path:
    """scikit-learn's digits 0-2 written as 8x8 greyscale PNGs in folder-per-class layout."""
    from digit_pngs import write_digit_pngs

    return write_digit_pngs(tmp_path_factory.mktemp("digits"), n_class=3, per_class=12)


@pytest.fixture(scope="session")
def shapes_instances_dataset(tmp_path_factory) -> Path:
    """COCO instances with polygons: 10 images of 64 px with 1-3 shapes each."""
    from zazu.data.synthetic import write_instances_dataset

    return write_instances_dataset(tmp_path_factory.mktemp("shapes_coco"), images=10, size=64, seed=5,
                                   with_polygons=True)


@pytest.fixture(scope="session")
def task_datasets(shapes_dataset, shapes_instances_dataset) -> dict[str, Path]:
    """A tiny dataset per task."""
    return {"classification": shapes_dataset, "detection": shapes_instances_dataset,
            "instance_segmentation": shapes_instances_dataset}
