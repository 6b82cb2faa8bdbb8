"""The one in-memory record model every reader produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ImageRecord:
    """One image. `path` is relative to the dataset root (posix separators)."""

    path: str
    label: int | None = None  # classification: index into Dataset.classes


@dataclass
class Dataset:
    root: Path
    format: str
    classes: list[str]
    records: list[ImageRecord]
    # Splits the dataset itself defines (e.g. train/ and val/ folders): name -> paths.
    given_split: dict[str, list[str]] | None = None
    warnings: list[str] = field(default_factory=list)

    def abspath(self, record: ImageRecord) -> str:
        return str(self.root / record.path)
