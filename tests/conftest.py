"""Shared fixtures. All data is generated here or comes from scikit-learn; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
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
    from PIL import Image
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("digits")
    digits = load_digits(n_class=3)
    counts: dict[int, int] = {}
    for image, label in zip(digits.images, digits.target):
        if counts.get(label, 0) >= 12:
            continue
        counts[label] = counts.get(label, 0) + 1
        folder = root / f"digit_{label}"
        folder.mkdir(exist_ok=True)
        Image.fromarray((image * 16).clip(0, 255).astype(np.uint8), mode="L").save(folder / f"{counts[label]:03d}.png")
    return root


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
