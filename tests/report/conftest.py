"""Fixtures for the report tests (builders and HTML helpers live in fake_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import make_classification_run


@pytest.fixture
def classification_run(tmp_path) -> Path:
    return make_classification_run(tmp_path / "run", tmp_path / "dataset")
