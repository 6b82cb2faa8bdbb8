"""The one in-memory record model every reader produces.

Coordinates are absolute pixels of the original image: boxes are
[x0, y0, x1, y1]; polygons are COCO-style flat lists [x0, y0, x1, y1, ...];
RLE is COCO's {"size": [h, w], "counts": ...}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instance:
    label: int  # index into Dataset.classes
    box: tuple[float, float, float, float]
    polygons: tuple[tuple[float, ...], ...] = ()
    rle: dict | None = None
    iscrowd: bool = False
    difficult: bool = False


@dataclass(frozen=True)
class ImageRecord:
    """One image. `path` is relative to the dataset root (posix separators)."""

    path: str
    label: int | None = None  # classification: index into Dataset.classes
    width: int | None = None
    height: int | None = None
    instances: tuple[Instance, ...] = ()
    source: str | None = None  # annotation file this record came from, for messages


@dataclass(frozen=True)
class Problem:
    """Something found in a dataset.

    fatal: the dataset cannot be used as it is. warning: something was left out,
    clipped or ignored. note: worth knowing, already handled (e.g. duplicate
    files, which the split keeps on one side).
    """

    file: str
    message: str
    severity: str = "warning"

    @property
    def fatal(self) -> bool:
        return self.severity == "fatal"

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


# a dataset's sides, in this order: what the run trains on, what it scores and chooses by, what it keeps apart
SPLIT_NAMES = ("train", "val", "test")
TRAIN, VAL, TEST = SPLIT_NAMES


@dataclass
class Dataset:
    root: Path
    format: str
    classes: list[str]
    records: list[ImageRecord]
    # Splits the dataset itself defines (train/ and val/ folders, VOC ImageSets, COCO files): name -> paths.
    given_split: dict[str, list[str]] | None = None
    problems: list[Problem] = field(default_factory=list)
    # path -> the first file with the same bytes; the split keeps such groups together.
    duplicates: dict[str, str] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return [str(p) for p in self.problems if p.severity == "warning"]

    def abspath(self, record: ImageRecord) -> str:
        return str(self.root / record.path)


def dataset_to_json(dataset: Dataset) -> dict:
    """A checked dataset as plain JSON, so trials read it back instead of re-reading the source format."""
    from dataclasses import asdict

    return {
        "root": str(dataset.root),
        "format": dataset.format,
        "classes": dataset.classes,
        "records": [asdict(r) for r in dataset.records],
        "duplicates": dataset.duplicates,
    }


def dataset_from_json(data: dict, source: str | Path = "dataset.json") -> Dataset:
    """The Dataset `dataset_to_json` wrote. A file that does not have its shape (edited, or not Zazu's)
    is a RunFolderError naming `source` and the first wrong field, not a KeyError in a resume or a trial."""
    from zazu.fields import LIST, OBJECT, TEXT, field_errors
    from zazu.errors import RunFolderError

    def refuse(error: str):
        return RunFolderError.not_as_written(source, error)

    errors = field_errors(data, {"root": TEXT, "format": TEXT, "classes": LIST, "records": LIST},
                          {"duplicates": OBJECT})
    if errors:
        raise refuse(errors[0])
    records = []
    for k, r in enumerate(data["records"]):
        errors = field_errors(r, {"path": TEXT, "instances": LIST})
        if errors:
            raise refuse(f"records[{k}] {errors[0]}")
        try:
            instances = tuple(
                Instance(label=i["label"], box=tuple(i["box"]), polygons=tuple(tuple(p) for p in i["polygons"]),
                         rle=i["rle"], iscrowd=i["iscrowd"], difficult=i["difficult"])
                for i in r["instances"])
            records.append(ImageRecord(path=r["path"], label=r["label"], width=r["width"], height=r["height"],
                                       instances=instances, source=r["source"]))
        except (KeyError, TypeError) as e:
            detail = f"has no `{e.args[0]}`" if isinstance(e, KeyError) else f"is malformed ({e})"
            raise refuse(f"records[{k}] ({r['path']}) {detail}") from None
    return Dataset(root=Path(data["root"]), format=data["format"], classes=list(data["classes"]), records=records,
                   duplicates=dict(data.get("duplicates") or {}))
