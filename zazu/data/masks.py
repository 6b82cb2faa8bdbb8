"""Instance masks: COCO polygons and RLE rasterised with pycocotools, at the
letterboxed training resolution (polygons are scaled first, so edges stay exact)."""

from __future__ import annotations

import numpy as np


def polygons_to_mask(polygons, height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """Flat [x0, y0, x1, y1, ...] polygons (original pixels) -> uint8 mask [height, width]."""
    from pycocotools import mask as mask_utils

    scaled = [[float(v) * scale for v in poly] for poly in polygons if len(poly) >= 6]
    if not scaled:
        return np.zeros((height, width), np.uint8)
    rles = mask_utils.frPyObjects(scaled, height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(np.uint8)


def rle_to_mask(rle: dict) -> np.ndarray:
    """COCO RLE (compressed string or uncompressed list counts) -> uint8 mask at its own size."""
    from pycocotools import mask as mask_utils

    h, w = rle["size"]
    if isinstance(rle["counts"], list):
        rle = mask_utils.frPyObjects(rle, h, w)
    return mask_utils.decode(rle).astype(np.uint8)


def letterbox_mask(mask: np.ndarray, scale: float, height: int, width: int) -> np.ndarray:
    """Resize a full-resolution mask by `scale` (nearest) and pad it to [height, width] (top-left)."""
    from PIL import Image

    h, w = mask.shape
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = np.asarray(Image.fromarray(mask * 255).resize((nw, nh), Image.NEAREST)) > 127
    out = np.zeros((height, width), np.uint8)
    out[: min(nh, height), : min(nw, width)] = resized[:height, :width]
    return out


def instance_mask(instance, orig_h: int, orig_w: int, scale: float, height: int, width: int) -> np.ndarray:
    """One instance's mask at the letterboxed resolution."""
    if instance.rle is not None:
        return letterbox_mask(rle_to_mask(instance.rle), scale, height, width)
    if instance.polygons:
        return polygons_to_mask(instance.polygons, height, width, scale)
    # box-only annotation: the box is the best mask we have
    x0, y0, x1, y1 = (round(v * scale) for v in instance.box)
    out = np.zeros((height, width), np.uint8)
    out[max(0, y0):min(height, y1), max(0, x0):min(width, x1)] = 1
    return out


def mask_to_rle(mask: np.ndarray) -> dict:
    """uint8 mask -> compressed COCO RLE with a str `counts` (JSON-friendly)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle
