"""'Did you mean ...?' for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """Return ' Did you mean `x`?' for the closest valid name, or ''."""
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""
