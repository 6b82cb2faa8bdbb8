"""A copy of the searched models inside the run folder.

`<run>/models/` holds the `models.json` entries of the models the search
selected and a copy of each one's `zoo/<name>/` folder: a zoo of its own, so a
run can be diffed against the current zoo, rerun with `zoo: <run>/models`, and
resumed (or served to workers on other machines) with exactly the code it
started with.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from zazu.atomic_io import atomic_write_json
from zazu.registry import ModelSpec
from zazu.run_records import SNAPSHOT_FOLDER

FOLDER = SNAPSHOT_FOLDER


def snapshot_models(models: list[ModelSpec], run_dir: Path) -> Path:
    """Copy each model's adapter folder and models.json entry into <run>/models; returns that folder."""
    root = Path(run_dir) / FOLDER
    partial = Path(run_dir) / f".{FOLDER}.partial"  # copied whole, then renamed: never half a snapshot
    shutil.rmtree(partial, ignore_errors=True)
    for spec in models:
        shutil.copytree(spec.adapter_path.parent, partial / "zoo" / spec.name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    atomic_write_json(partial / "models.json", {spec.name: spec.entry for spec in models})
    os.replace(partial, root)
    return root


def adapter_digest(spec: ModelSpec) -> str:
    """sha256 of the adapter's source, for run.json (tells two runs' code apart at a glance)."""
    return "sha256:" + hashlib.sha256(Path(spec.adapter_path).read_bytes()).hexdigest()

