"""Zazu's one defaults file (`zazu/defaults.yaml`), read where a default is needed.

Below `zazu.config` (which merges it with a config file and flags) so that modules `config` itself
calls, such as `zazu.data.augment`, can read their defaults without importing `config` back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")


def load_defaults() -> dict[str, Any]:
    """The whole defaults file, freshly parsed (callers may change what they get)."""
    import yaml

    with open(DEFAULTS_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)
