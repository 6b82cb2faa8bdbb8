"""Models for the evaluate and serve tests: each trained once per session, exported with
metadata inside the files, in a run folder like a user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cls_dataset(tmp_path_factory) -> Path:
    """Folder-per-class: 4 shape classes x 15 images of 32 px (12 val images with the default split)."""
    from zazu.data.synthetic import write_classification_dataset

    return write_classification_dataset(tmp_path_factory.mktemp("cls_data"), per_class=15, size=32, seed=7)


@pytest.fixture(scope="session")
def cls_run(cls_dataset, tmp_path_factory) -> Path:
    """tiny_cnn, one trial of 2 epochs, exported as .keras and int8 .tflite (<run>/export/)."""
    from zazu.config import resolve_config
    from zazu.search.driver import run_search

    config = resolve_config(overrides={
        "task": "classification", "data": {"home_path": str(cls_dataset)}, "models": ["tiny_cnn"],
        "max_trials": 1, "epochs": 2, "output": str(tmp_path_factory.mktemp("cls") / "run"),
        "export": {"formats": ["keras", "int8"], "profile_runs": 2, "edgetpu_compiler": False}})
    return run_search(config).run_dir


@pytest.fixture(scope="session")
def detection_run(shapes_instances_dataset, tmp_path_factory) -> Path:
    """centernet, one trial of 1 epoch on the 10-image COCO set, exported as .keras only."""
    from zazu.config import resolve_config
    from zazu.search.driver import run_search

    config = resolve_config(overrides={
        "task": "detection", "data": {"home_path": str(shapes_instances_dataset)}, "models": ["centernet"],
        "max_trials": 1, "epochs": 1, "output": str(tmp_path_factory.mktemp("det") / "run"),
        "export": {"formats": ["keras"], "edgetpu_compiler": False}})
    return run_search(config).run_dir
