"""Dataset readers: every format becomes one `Dataset` of `ImageRecord`s.

`read_dataset(root, annotation_type)` picks the reader; `auto` detects the
format from the files present.
"""

from __future__ import annotations

from pathlib import Path

from zazu.data.paths import not_utf8
from zazu.data.records import Dataset
from zazu.errors import DatasetError

FORMATS = ("folder", "coco", "voc", "yolo")


def detect_format(root: Path) -> str:
    from zazu.data.readers.coco import find_coco_files
    from zazu.data.readers.voc import find_voc_files

    if not root.is_dir():
        raise DatasetError(f"Dataset folder not found. Received: {root}")
    if find_coco_files(root):
        return "coco"
    if find_voc_files(root):
        return "voc"
    if any((root / name).is_file() for name in ("data.yaml", "dataset.yaml", "classes.txt")):
        return "yolo"
    if any(p.is_dir() and not p.name.startswith(".") for p in root.iterdir()):
        return "folder"
    raise DatasetError(
        f"{root}: cannot tell the dataset format. Expected COCO JSON (annotations/*.json), Pascal VOC XML, "
        "YOLO (data.yaml or classes.txt) or folder-per-class.")


def read_dataset(root: str | Path, annotation_type: str = "auto") -> Dataset:
    from zazu.data.readers.folder import read_folder_dataset
    from zazu.data.readers.coco import read_coco_dataset
    from zazu.data.readers.voc import read_voc_dataset
    from zazu.data.readers.yolo import read_yolo_dataset

    root = Path(root)
    if not_utf8(str(root)) is not None:  # every message and dataset.json names the root
        raise DatasetError(f"{not_utf8(str(root))}: the dataset folder's path is not valid UTF-8. Expected a UTF-8 "
                           "path (rename the folder as UTF-8).")
    if not root.is_dir():
        raise DatasetError(f"Dataset folder not found. Expected an existing folder. Received: {root}")
    fmt = detect_format(root) if annotation_type == "auto" else annotation_type
    readers = {"folder": read_folder_dataset, "coco": read_coco_dataset, "voc": read_voc_dataset,
               "yolo": read_yolo_dataset}
    if fmt not in readers:
        raise DatasetError(f"Unknown annotation type. Expected one of auto, {', '.join(FORMATS)}. Received: {fmt!r}")
    return readers[fmt](root)
