"""Object sizes and counts per class, read from a dataset's records.

What the search fits to the data follows from them (`zazu.search.data_fit`): the input size at
which the smallest class's objects stay detectable, the instance caps and the NMS overlap a crowd
needs. Sizes are the square root of a box's area, as a share of its image's longer side: the
letterbox scales an image by its longer side, so `share * input side` is the object's size in
pixels at that input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ClassSizes:
    name: str
    count: int
    median_px: float  # sqrt(box area) in original pixels
    p10_px: float
    median_share: float  # sqrt(box area) / the image's longer side
    p10_share: float


@dataclass(frozen=True)
class BoxStats:
    classes: tuple[ClassSizes, ...]  # classes with at least one box, in the dataset's order
    images: int
    mean_per_image: float
    max_per_image: int
    same_class_overlap_p99: float  # IoU of the 99th-percentile pair of same-class boxes in one image
    median_long_side: float  # the images' longer side, original pixels
    median_aspect: float = 1.0  # the images' shorter side / longer side
    landscape_share: float = 0.0  # the share of images wider than tall (1 - it: taller or square)

    def smallest_class(self) -> ClassSizes | None:
        """The class whose median object is smallest relative to its image; None without boxes."""
        return min(self.classes, key=lambda c: c.median_share, default=None)

    def to_json(self) -> dict:
        return asdict(self)


def box_stats(records, classes: list[str]) -> BoxStats:
    """Statistics of every (non-crowd) box in `records`."""
    shares: dict[int, list[float]] = {}
    pixels: dict[int, list[float]] = {}
    counts, overlaps, long_sides, aspects, landscape = [], [], [], [], []
    for record in records:
        instances = [i for i in record.instances if not i.iscrowd]
        counts.append(len(instances))
        long_side = float(max(record.width or 0, record.height or 0))
        if long_side > 0:
            long_sides.append(long_side)
            aspects.append(float(min(record.width or 0, record.height or 0)) / long_side)
            landscape.append((record.width or 0) > (record.height or 0))
        for inst in instances:
            x0, y0, x1, y1 = inst.box
            side = float(np.sqrt(max(0.0, x1 - x0) * max(0.0, y1 - y0)))
            pixels.setdefault(inst.label, []).append(side)
            if long_side > 0:
                shares.setdefault(inst.label, []).append(side / long_side)
        overlaps.extend(_same_class_ious(instances))
    per_class = tuple(
        ClassSizes(classes[label], len(pixels[label]), float(np.median(pixels[label])),
                   float(np.percentile(pixels[label], 10)),
                   float(np.median(shares.get(label) or [0.0])), float(np.percentile(shares.get(label) or [0.0], 10)))
        for label in sorted(pixels))
    return BoxStats(per_class, len(counts), float(np.mean(counts)) if counts else 0.0, max(counts, default=0),
                    float(np.percentile(overlaps, 99)) if overlaps else 0.0,
                    float(np.median(long_sides)) if long_sides else 0.0,
                    float(np.median(aspects)) if aspects else 1.0,
                    float(np.mean(landscape)) if landscape else 0.0)


def _same_class_ious(instances) -> list[float]:
    """IoU of every pair of same-class boxes of one image that overlap at all."""
    out = []
    for a in range(len(instances)):
        for b in range(a + 1, len(instances)):
            if instances[a].label == instances[b].label:
                iou = box_iou(instances[a].box, instances[b].box)
                if iou > 0:
                    out.append(iou)
    return out


def box_iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def box_shapes(records, input_size) -> tuple[np.ndarray, np.ndarray]:
    """(every box's (width, height) in letterboxed pixels at `input_size` (a side, or [height, width]),
    its label)."""
    from zazu.data.letterbox import letterbox_scale

    size = (int(input_size), int(input_size)) if np.isscalar(input_size) else (int(input_size[0]), int(input_size[1]))
    shapes, labels = [], []
    for record in records:
        if not record.width or not record.height:
            continue
        scale = letterbox_scale(float(record.height), float(record.width), size)
        for inst in record.instances:
            if not inst.iscrowd:
                x0, y0, x1, y1 = inst.box
                shapes.append(((x1 - x0) * scale, (y1 - y0) * scale))
                labels.append(inst.label)
    return np.asarray(shapes, np.float32).reshape(-1, 2), np.asarray(labels, np.int64)
