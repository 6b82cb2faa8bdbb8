"""`zazu data preview`: a PNG grid of what training sees, boxes and masks drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zazu.data.records import Dataset
from zazu.tasks import CLASSIFICATION, DETECTION, INSTANCE_SEGMENTATION

PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def draw_sample(image: np.ndarray, classes: list[str], boxes=None, labels=None, masks=None, title: str | None = None):
    """PIL image of float/uint8 pixels with masks (alpha overlay), boxes and class names."""
    from PIL import Image, ImageDraw

    canvas = np.asarray(image, np.float32).copy()
    if masks is not None and labels is not None:
        for j, label in enumerate(labels):
            if label < 0:
                continue
            colour = np.asarray(PALETTE[int(label) % len(PALETTE)], np.float32)
            region = masks[..., j] > 0.5
            canvas[region] = 0.5 * canvas[region] + 0.5 * colour
    pil = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    if boxes is not None and labels is not None:
        for box, label in zip(boxes, labels):
            if label < 0:
                continue
            colour = PALETTE[int(label) % len(PALETTE)]
            draw.rectangle([float(v) for v in box], outline=colour, width=2)
            draw.text((float(box[0]) + 2, float(box[1]) + 1), classes[int(label)], fill=colour)
    if title:
        draw.text((3, 2), title, fill=(255, 255, 255))
    return pil


def grid(images: list, columns: int = 4):
    from PIL import Image

    w, h = images[0].size
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w + (columns - 1) * 4, rows * h + (rows - 1) * 4), (40, 40, 40))
    for k, im in enumerate(images):
        sheet.paste(im, ((k % columns) * (w + 4), (k // columns) * (h + 4)))
    return sheet


def write_preview(dataset: Dataset, out_path: Path, size: tuple[int, int] = (256, 256), count: int = 16,
                  augment_settings: dict | None = None, seed: int = 0) -> Path:
    from zazu.data.augment import resolve_augmentation
    from zazu.data.pipeline import classification_dataset, instance_dataset, instance_targets

    records = dataset.records[:count]
    paths = [dataset.abspath(r) for r in records]
    training = augment_settings is not None
    with_masks = any(i.polygons or i.rle for r in records for i in r.instances)
    if training:  # the `auto` values as training resolves them for this data's task
        task = CLASSIFICATION if dataset.format == "folder" else (
            INSTANCE_SEGMENTATION if with_masks else DETECTION)
        augment_settings = resolve_augmentation(augment_settings, task)
    samples = []
    if dataset.format == "folder":
        ds = classification_dataset(paths, [r.label for r in records], size, count, training=training,
                                    augment_settings=augment_settings, seed=seed)
        images, labels = next(iter(ds))
        for image, label in zip(images.numpy(), labels.numpy()):
            samples.append(draw_sample(image, dataset.classes, title=dataset.classes[int(label)]))
    else:
        targets = instance_targets(records, size, max_instances=max(1, max(len(r.instances) for r in records)),
                                   with_masks=with_masks)
        ds = instance_dataset(paths, targets, size, count, training=training, augment_settings=augment_settings,
                              seed=seed)
        batch = next(iter(ds))
        masks = batch["segmentation_masks"].numpy() if with_masks else [None] * len(paths)
        for image, boxes, labels, mask in zip(batch["images"].numpy(), batch["bounding_boxes"]["boxes"].numpy(),
                                              batch["bounding_boxes"]["labels"].numpy(), masks):
            samples.append(draw_sample(image, dataset.classes, boxes, labels, mask))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    grid(samples).save(out_path)
    return out_path
