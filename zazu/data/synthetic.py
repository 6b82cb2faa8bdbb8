"""Zazu's embedded default dataset, generated (seeded, deterministic) instead of downloaded.

Classification: coloured shapes (circle, square, triangle, cross) on noisy
backgrounds, written as real PNG files in folder-per-class layout under a cache
folder, so training reads them through the same loader as a user's folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

SHAPES = ("circle", "square", "triangle", "cross")
VERSION = 1  # bump when the generator's output changes, so old caches are not reused


def cache_root() -> Path:
    return Path(os.environ.get("ZAZU_CACHE", Path.home() / ".cache" / "zazu"))


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


def draw_shape(draw, shape: str, cx: float, cy: float, r: float, color, angle: float) -> list[float]:
    """Draw `shape` centred at (cx, cy) with radius r; return its box [x0, y0, x1, y1]."""
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif shape == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif shape == "triangle":
        pts = [(cx + r * np.cos(angle + k * 2 * np.pi / 3), cy + r * np.sin(angle + k * 2 * np.pi / 3)) for k in range(3)]
        draw.polygon(pts, fill=color)
        xs, ys = zip(*pts)
        return [min(xs), min(ys), max(xs), max(ys)]
    elif shape == "cross":
        w = r / 3
        draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=color)
        draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=color)
    else:
        raise ValueError(shape)
    return [cx - r, cy - r, cx + r, cy + r]


def render_classification_image(rng: np.random.Generator, shape: str, size: int):
    from PIL import Image, ImageDraw

    pixels = _background(rng, size)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    r = rng.uniform(0.22, 0.38) * size
    cx, cy = rng.uniform(r, size - r, size=2)
    draw_shape(draw, shape, cx, cy, r, _shape_color(rng, pixels.mean(axis=(0, 1))), rng.uniform(0, 2 * np.pi))
    return image


def write_classification_dataset(folder: Path, per_class: int = 150, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        (folder / shape).mkdir(parents=True, exist_ok=True)
    for i in range(per_class):
        for shape in SHAPES:
            render_classification_image(rng, shape, size).save(folder / shape / f"{shape}_{i:04d}.png")
    return folder


def ensure_synthetic(task: str, seed: int = 0) -> Path:
    """The embedded default dataset for `task`, generated once into the cache folder."""
    writers = {"classification": write_classification_dataset}
    if task not in writers:
        from zazu.errors import DatasetError

        raise DatasetError(f"No embedded default dataset for task={task!r} yet. Pass --data PATH.")
    target = cache_root() / "datasets" / f"synthetic-{task}-v{VERSION}-seed{seed}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        writers[task](tmp, seed=seed)
        os.replace(tmp, target)  # atomic: a half-written dataset is never seen
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
