"""Fixtures for the search tests (helpers live in searchkit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from searchkit import make_duck_zoo


@pytest.fixture
def duck_zoo(tmp_path) -> Path:
    """Two models, `good` and `other`, both searchkit's duck adapter."""
    return make_duck_zoo(tmp_path / "duck_zoo")
