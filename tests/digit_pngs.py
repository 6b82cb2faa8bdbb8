"""scikit-learn's digits as a folder-per-class PNG dataset, for the tests that train on real digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_digit_pngs(root: Path, n_class: int, per_class: int, upscale: int = 1) -> Path:
    """scikit-learn's digits 0..n_class-1, per_class of each, as greyscale PNGs (8 x upscale px) in
    folder-per-class layout."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits(n_class=n_class)
    counts: dict[int, int] = {}
    for image, label in zip(digits.images, digits.target):
        if counts.get(label, 0) >= per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        folder = root / f"digit_{label}"
        folder.mkdir(exist_ok=True)
        pixels = np.kron((image * 16).clip(0, 255), np.ones((upscale, upscale))).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{counts[label]:03d}.png")
    return root
