"""Find a dataset's mistakes before an hour of training is wasted.

`check_dataset` decodes every image fully (catching truncated files), finds
duplicate files, and checks each box against its image: boxes reaching outside
are clipped, boxes of zero area dropped. It returns a cleaned dataset, so a
search never meets an unreadable image in the middle of an epoch.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from zazu.data.decoder_check import tensorflow_disagrees
from zazu.data.orientation import upright_size
from zazu.data.records import Dataset, ImageRecord, Instance, Problem
from zazu.tasks import CLASSIFICATION

BOX_TOLERANCE = 1.0  # pixels: rounding in labelling tools is not a mistake
# Larger images are left out: PIL opens them, but the training pipeline decodes each in full at every
# epoch (and beyond PIL's own bomb limit, 179 MP, they are refused anyway). 64 MP is an 8000x8000 photo.
MAX_PIXELS = 64_000_000


@dataclass
class CheckReport:
    dataset: Dataset  # cleaned: unreadable images out, boxes clipped
    problems: list[Problem]
    summary: dict = field(default_factory=dict)

    @property
    def fatal(self) -> bool:
        return any(p.fatal for p in self.problems) or not self.dataset.records

    def exit_code(self, strict: bool = False) -> int:
        """0 usable (notes at most), 1 only warnings, 2 fatal; --strict makes any problem fatal."""
        if self.fatal or (strict and self.problems):
            return 2
        return 1 if any(p.severity == "warning" for p in self.problems) else 0

    def usable_for(self, task: str, path, strict: bool = False, subject: str = "search's") -> Dataset:
        """The cleaned dataset when a `task` model can use it. DatasetError otherwise, naming `path`
        and the fatal problems (with `strict`, every problem) or the format the task needs."""
        from zazu.errors import DatasetError

        if self.exit_code(strict) == 2:
            fatal = [str(p) for p in self.problems if p.fatal or strict] or ["no usable image"]
            raise DatasetError(f"{path}: dataset not usable{' (data.strict is on)' if strict else ''}: "
                               + "; ".join(fatal[:5]) + (f" (+{len(fatal) - 5} more)" if len(fatal) > 5 else ""))
        needs_folder = task == CLASSIFICATION  # labels from folder names; the other tasks need annotations
        if needs_folder != (self.dataset.format == "folder"):
            expected = "a folder-per-class dataset" if needs_folder else "COCO, Pascal VOC or YOLO annotations"
            raise DatasetError(f"{path}: the {subject} task is {task}, which needs {expected}. "
                               f"Received: a {self.dataset.format} dataset.")
        if not needs_folder and not any(record.instances for record in self.dataset.records):
            # a detector trained on no object would ship with mAP 0 and exit 0
            raise DatasetError(f"{path}: no usable annotation: none of the {len(self.dataset.records)} images has "
                               f"an object ({self.dataset.format}). Expected at least one labelled object.")
        return self.dataset


def _decode(path: Path) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """((width, height), sha1, None) or (None, None, reason)."""
    from PIL import Image

    try:
        data = path.read_bytes()
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:  # from the header, before decoding it
                return None, None, (f"{im.width}x{im.height} = {im.width * im.height} pixels; expected at most "
                                    f"{MAX_PIXELS}")
            im.load()  # full decode: a truncated JPEG fails here, not mid-epoch
            size, image_format, raw_size = upright_size(im), im.format, im.size
    except Exception as e:
        return None, None, f"{type(e).__name__}: {e}"
    if (problem := tensorflow_disagrees(data, image_format, raw_size)) is not None:
        return None, None, problem  # every trial would fail (or train on a wrongly scaled image) on it
    return size, hashlib.sha1(data).hexdigest(), None


def check_dataset(dataset: Dataset) -> CheckReport:
    problems = list(dataset.problems)
    seen: dict[str, str] = {}
    duplicates: dict[str, str] = {}
    clean: list[ImageRecord] = []
    for record in dataset.records:
        size, digest, error = _decode(dataset.root / record.path)
        if error:
            problems.append(Problem(record.path, f"unreadable or truncated image, left out ({error})"))
            continue
        if digest in seen:
            duplicates[record.path] = seen[digest]
            problems.append(Problem(record.path, f"duplicate file: same bytes as {seen[digest]} "
                                                 "(kept on the same side of the split)", severity="note"))
        else:
            seen[digest] = record.path
        width, height = size
        if record.width and record.height and (record.width, record.height) != (width, height):
            problems.append(Problem(record.path, f"annotation says {record.width}x{record.height}, "
                                                 f"the image is {width}x{height}; using the image's size"))
        clean.append(replace(record, width=width, height=height,
                             instances=_check_boxes(record, width, height, problems)))
    cleaned = replace(dataset, records=clean, problems=problems, duplicates=duplicates)
    return CheckReport(cleaned, problems, summarize(cleaned))


def _check_boxes(record: ImageRecord, width: int, height: int, problems: list[Problem]) -> tuple[Instance, ...]:
    kept = []
    where = record.source or record.path
    for inst in record.instances:
        x0, y0, x1, y1 = inst.box
        if not all(math.isfinite(v) for v in (*inst.box, *(c for p in inst.polygons for c in p))):
            # NaN fails every comparison below: clipped, it would become a full-width box
            problems.append(Problem(where, f"box {_fmt(inst.box)} in {record.path} has a coordinate that is not "
                                           "a finite number (NaN or infinity); object dropped"))
            continue
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            problems.append(Problem(where, f"box {_fmt(inst.box)} in {record.path} has zero area; dropped"))
            continue
        t = BOX_TOLERANCE
        clipped = (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))
        inside = clipped[2] - clipped[0] > 0 and clipped[3] - clipped[1] > 0
        if x0 < -t or y0 < -t or x1 > width + t or y1 > height + t:
            problems.append(Problem(where, f"box {_fmt(inst.box)} is outside the image {record.path} "
                                           f"({width}x{height}); {'clipped' if inside else 'dropped'}"))
        if not inside:
            continue
        if inst.rle is not None and not _rle_fits(inst.rle, width, height):
            problems.append(Problem(where, f"RLE mask in {record.path} does not decode to the image's "
                                           f"{width}x{height}; mask dropped, box kept"))
            inst = replace(inst, rle=None)
        kept.append(replace(inst, box=clipped))
    return tuple(kept)


def _rle_fits(rle: dict, width: int, height: int) -> bool:
    from zazu.data.masks import rle_to_mask

    try:
        return rle_to_mask(rle).shape == (height, width)
    except Exception:
        return False


def _fmt(box) -> str:
    return "[" + ", ".join(f"{v:g}" for v in box) + "]"


def summarize(dataset: Dataset) -> dict:
    per_class = Counter()
    boxes_per_image = []
    for record in dataset.records:
        if record.label is not None:
            per_class[dataset.classes[record.label]] += 1
        for inst in record.instances:
            per_class[dataset.classes[inst.label]] += 1
        boxes_per_image.append(len(record.instances))
    widths = [r.width for r in dataset.records if r.width]
    heights = [r.height for r in dataset.records if r.height]
    n = len(dataset.records)
    return {
        "format": dataset.format,
        "images": n,
        "classes": len(dataset.classes),
        "classes_used": len(per_class),
        "instances": sum(len(r.instances) for r in dataset.records),
        "per_class": dict(sorted(per_class.items())),
        "width_range": [min(widths), max(widths)] if widths else None,
        "height_range": [min(heights), max(heights)] if heights else None,
        "boxes_per_image": {"min": min(boxes_per_image), "mean": round(sum(boxes_per_image) / n, 2),
                            "max": max(boxes_per_image)} if n else None,
        "given_split": {k: len(v) for k, v in (dataset.given_split or {}).items()} or None,
    }
