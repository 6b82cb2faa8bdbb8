"""Zazu's embedded default datasets, generated (seeded, deterministic) instead of downloaded.

- classification: one coloured shape (circle, square, triangle, cross) per image
  on a noisy background, folder-per-class PNGs;
- detection: 1-3 shapes per image, COCO JSON with boxes;
- instance_segmentation: the same with polygon masks.

They are written as real files under a cache folder, so training reads them
through the same readers as a user's dataset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zazu.cache import cache_root  # noqa: F401  (also imported from here)
from zazu.tasks import CLASSIFICATION, DETECTION, INSTANCE_SEGMENTATION

SHAPES = ("circle", "square", "triangle", "cross")
VERSION = 2  # bump when the generators' output changes, so old caches are not reused


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(40, 200, size=3)
    tilt = rng.uniform(-40, 40, size=3)
    ramp = np.linspace(-0.5, 0.5, size)[None, :, None] * tilt
    noise = rng.normal(0, 12, size=(size, size, 3))
    return np.clip(base + ramp + noise, 0, 255)


def _shape_color(rng: np.random.Generator, background_mean: np.ndarray) -> tuple[int, int, int]:
    # Far enough from the background that the shape is always visible.
    while True:
        color = rng.integers(0, 256, size=3)
        if np.abs(color - background_mean).sum() > 180:
            return tuple(int(c) for c in color)


def shape_polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """The outline of `shape` centred at (cx, cy) with radius r, as (x, y) points."""
    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in t]
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx + r * np.cos(angle + k * 2 * np.pi / 3), cy + r * np.sin(angle + k * 2 * np.pi / 3))
                for k in range(3)]
    if shape == "cross":
        w = r / 3
        return [(cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w), (cx + r, cy + w),
                (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r), (cx - w, cy + w), (cx - r, cy + w),
                (cx - r, cy - w), (cx - w, cy - w)]
    raise ValueError(shape)


def render_classification_image(rng: np.random.Generator, shape: str, size: int):
    from PIL import Image, ImageDraw

    pixels = _background(rng, size)
    image = Image.fromarray(pixels.astype(np.uint8))
    r = rng.uniform(0.22, 0.38) * size
    cx, cy = rng.uniform(r, size - r, size=2)
    polygon = shape_polygon(shape, cx, cy, r, rng.uniform(0, 2 * np.pi))
    ImageDraw.Draw(image).polygon(polygon, fill=_shape_color(rng, pixels.mean(axis=(0, 1))))
    return image


def write_classification_dataset(folder: Path, per_class: int = 150, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        (folder / shape).mkdir(parents=True, exist_ok=True)
    for i in range(per_class):
        for shape in SHAPES:
            render_classification_image(rng, shape, size).save(folder / shape / f"{shape}_{i:04d}.png")
    return folder


def _overlap(a, b) -> float:
    """Intersection over the smaller box's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / smaller


def write_instances_dataset(folder: Path, images: int = 400, size: int = 96, seed: int = 0,
                            max_shapes: int = 3, with_polygons: bool = False) -> Path:
    """Shapes scattered over noisy backgrounds, annotated as COCO instances."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    coco = {"info": {"description": "Zazu synthetic shapes", "version": VERSION}, "images": [], "annotations": [],
            "categories": [{"id": i + 1, "name": s} for i, s in enumerate(SHAPES)]}
    for image_id in range(1, images + 1):
        pixels = _background(rng, size)
        image = Image.fromarray(pixels.astype(np.uint8))
        draw = ImageDraw.Draw(image)
        boxes = []
        for _ in range(int(rng.integers(1, max_shapes + 1))):
            for _attempt in range(20):
                r = rng.uniform(0.1, 0.2) * size
                cx, cy = rng.uniform(r, size - r, size=2)
                shape = SHAPES[int(rng.integers(len(SHAPES)))]
                polygon = shape_polygon(shape, cx, cy, r, rng.uniform(0, 2 * np.pi))
                xs, ys = zip(*polygon)
                box = (min(xs), min(ys), max(xs), max(ys))
                if all(_overlap(box, b) < 0.05 for b in boxes):
                    break
            else:
                continue
            boxes.append(box)
            draw.polygon(polygon, fill=_shape_color(rng, pixels.mean(axis=(0, 1))))
            ann = {"id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": SHAPES.index(shape) + 1,
                   "bbox": [round(box[0], 2), round(box[1], 2), round(box[2] - box[0], 2), round(box[3] - box[1], 2)],
                   "area": round((box[2] - box[0]) * (box[3] - box[1]), 2), "iscrowd": 0}
            if with_polygons:
                ann["segmentation"] = [[round(v, 2) for xy in polygon for v in xy]]
            coco["annotations"].append(ann)
        name = f"{image_id:05d}.png"
        image.save(folder / "images" / name)
        coco["images"].append({"id": image_id, "file_name": name, "width": size, "height": size})
    (folder / "annotations").mkdir(exist_ok=True)
    (folder / "annotations" / "instances.json").write_text(json.dumps(coco), encoding="utf-8")
    return folder


WRITERS = {
    CLASSIFICATION: write_classification_dataset,
    DETECTION: write_instances_dataset,
    INSTANCE_SEGMENTATION: lambda folder, seed: write_instances_dataset(folder, seed=seed, with_polygons=True),
}


def ensure_synthetic(task: str, seed: int = 0) -> Path:
    """The embedded default dataset for `task`, generated once into the cache folder."""
    target = cache_root() / "datasets" / f"synthetic-{task}-v{VERSION}-seed{seed}"
    if target.is_dir():
        return target
    from zazu.atomic_io import atomic_make_folder

    return atomic_make_folder(target, lambda folder: WRITERS[task](folder, seed=seed))
