"""Where Zazu keeps what it can make again: datasets, converted weights, tf.data caches, code digests."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`$ZAZU_CACHE`, else ~/.cache/zazu."""
    return Path(os.environ.get("ZAZU_CACHE", Path.home() / ".cache" / "zazu"))
