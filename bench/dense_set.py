"""A dense development set: crowded 640x480 scenes of small objects, composed from the real photos in shared/datasets.

It stands in for a hidden Pascal VOC set Zazu does poorly on (3 classes, 640x480 photos,
205 train / 87 val, 13.4 boxes per image on average and up to 30; box size as sqrt(area): small
class median 39 px (p10 32), mid-size class median 102 px and heavily overlapping, large class
median 188 px). Each image is a background photo with object cut-outs pasted on it:

- vehicle (small, median 39 px): tiny_coco car, truck, bus, motorcycle and bicycle instances cut
  out with their polygon masks, spread over the image;
- person (mid, median 102 px): tiny_coco person instances cut out with their masks, pasted in
  one or two crowds so that they overlap each other;
- raccoon (large, median 188 px): raccoon/ boxes cut out as rectangles.

Each paste's size (sqrt of its box area) is drawn from a lognormal around its class's median.
Objects lower in the image are pasted later (they are nearer, so they hide the ones behind);
an object with less than 40% of its pixels left visible is dropped, and every box is the tight box
of its visible pixels (Pascal VOC boxes the visible extent). Backgrounds are tiny_coco photos (not
the raccoon ones: a raccoon fills most of its photo, and many show people no box names), resized to
cover 640x480 and cropped, with their persons and vehicles filled in from their surroundings (an
unlabelled person in the background would teach the detector that people are background).

No leakage: the source photos are split first, 75/25 by file per dataset (byte-identical files
kept together), so the val images are made only of photos and instances no train image uses.
The tiny_coco split is drawn until each class has 15-40% of its cut-outs on the val side.

The output is a Pascal VOC folder: Annotations/*.xml, JPEGImages/*.jpg, ImageSets/Main/{train,val}.txt
(Zazu keeps that split) and dense_set.json (the settings, summary and source files of each
split). The same seed gives the same bytes.

With --format coco (write_dense_set(..., fmt="coco")) the same scenes are written as a COCO instance
segmentation set instead: annotations/instances_{train,val}.json (Zazu keeps that split) and
images/{train,val}/*.jpg; each object's `segmentation` is the RLE of its visible pixels (what later pastes
leave of it; for a raccoon, of its rectangle), `bbox` the tight box of them (the VOC box), `area` their count;
categories vehicle 1, person 2, raccoon 3.

    python bench/dense_set.py --output /tmp/dense_voc [--format voc|coco] [--seed 0] [--train 205] [--val 87] [--shared ../shared/datasets]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

SHARED = REPO.parent / "shared" / "datasets"  # beside the repository
WIDTH, HEIGHT = 640, 480
VAL_SHARE = 0.25  # of each dataset's source files
MIN_VISIBLE = 0.4  # an object with less of its pixels visible is dropped
MEAN_PLACED = 21.5  # objects pasted per image on average; about 13.4 remain after the occlusion drops
MAX_PLACED = 40
FORMATS = ("voc", "coco")
MANIFEST = "dense_set.json"  # not a COCO file: Zazu's format detection looks for COCO JSON first


@dataclass(frozen=True)
class ClassSpec:
    name: str
    median: float  # sqrt(box area) in px of the 640x480 image
    sigma: float  # of log(size)
    share: float  # of the objects pasted
    source: str  # the shared dataset folder its cut-outs come from
    categories: tuple[str, ...]  # that dataset's classes it takes
    min_source_size: float  # smaller instances (sqrt of mask box area, px) would be upscaled too much
    crowd: bool = False  # pasted in clusters that overlap
    min_height_ratio: float = 0.0  # height / width of a usable instance's box: a person lying flat is mostly an arm


# sigma 0.154 puts p10 at 39 / exp(1.2816 * 0.154) = 32 px, as in the hidden set
CLASSES = (
    ClassSpec("vehicle", 39, 0.154, 0.50, "tiny_coco", ("car", "truck", "bus", "motorcycle", "bicycle"), 20),
    ClassSpec("person", 102, 0.25, 0.38, "tiny_coco", ("person",), 40, crowd=True, min_height_ratio=0.9),
    ClassSpec("raccoon", 188, 0.25, 0.12, "raccoon", ("raccoon",), 0),
)
SOURCES = ("tiny_coco", "raccoon")
BACKGROUND_SOURCE = "tiny_coco"  # its every person and vehicle has a mask, so none is left in unlabelled


@dataclass(frozen=True)
class Cutout:
    label: str  # a ClassSpec name
    source: str  # the photo it comes from: <dataset>/<path within it>
    rgba: object  # PIL RGBA image cropped to the instance's box; alpha is its mask


@dataclass(frozen=True)
class Background:
    source: str  # <dataset>/<path within it>
    path: Path
    holes: tuple  # (kind, data) of the objects to fill in: ("polygons", polygons) or ("rle", rle)


# ---------------------------------------------------------------- sources


def read_source(root: Path):
    """The checked Zazu dataset at `root` (boxes clipped, unreadable images out)."""
    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset

    report = check_dataset(read_dataset(root))
    if report.fatal:
        fatal = "; ".join(str(p) for p in report.problems if p.fatal) or "no usable image"
        raise ValueError(f"{root}: dataset not usable: {fatal}")
    return report.dataset


def _box_size(box) -> float:
    x0, y0, x1, y1 = box
    return math.sqrt(max(0.0, x1 - x0) * max(0.0, y1 - y0))


def split_sources(datasets: dict, seed: int) -> dict[str, set[str]]:
    """{"train": source files, "val": source files}, as <dataset>/<path>: VAL_SHARE of each dataset's files
    on the val side, byte-identical files on the same side. A dataset that gives cut-outs to a class is
    split again (up to 500 draws) until 15-40% of that class's usable instances fall on the val side."""
    sides = {"train": set(), "val": set()}
    for name, dataset in datasets.items():
        groups: dict[str, list[str]] = {}
        for record in dataset.records:
            groups.setdefault(dataset.duplicates.get(record.path, record.path), []).append(record.path)
        keys = sorted(groups)
        usable = {spec.name: _usable_instances(dataset, spec) for spec in CLASSES if spec.source == name}
        n_val = round(VAL_SHARE * len(keys))
        for attempt in range(500):
            order = keys[:]
            random.Random(f"{seed}:{name}:{attempt}").shuffle(order)
            val = {path for key in order[:n_val] for path in groups[key]}
            if all(0.15 <= sum(n for path, n in counts.items() if path in val) / max(1, sum(counts.values())) <= 0.40
                   for counts in usable.values()):
                break
        else:
            raise ValueError(f"{dataset.root}: no split of its {len(keys)} files puts 15-40% of each class's "
                             f"instances on the val side ({', '.join(usable)}); seed {seed}")
        for record in dataset.records:
            sides["val" if record.path in val else "train"].add(f"{name}/{record.path}")
    return sides


def _usable_instances(dataset, spec: ClassSpec) -> dict[str, int]:
    """{image path: instances of `spec`'s categories usable as its cut-outs}."""
    wanted = {i for i, c in enumerate(dataset.classes) if c in spec.categories}
    counts: dict[str, int] = {}
    for record in dataset.records:
        n = sum(1 for inst in record.instances if _usable(inst, wanted, spec))
        if n:
            counts[record.path] = n
    return counts


def _usable(instance, wanted: set[int], spec: ClassSpec) -> bool:
    x0, y0, x1, y1 = instance.box
    return (instance.label in wanted and not instance.iscrowd and _box_size(instance.box) >= spec.min_source_size
            and y1 - y0 >= spec.min_height_ratio * (x1 - x0)
            and (spec.source == "raccoon" or bool(instance.polygons) or instance.rle is not None))


def _open_upright(path: Path):
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def load_cutouts(datasets: dict, files: set[str]) -> dict[str, list[Cutout]]:
    """{class: its cut-outs from the source `files`}, in a stable order. Each is shrunk to at most 1.6x
    its class's median size, so that a few hundred fit in memory."""
    from PIL import Image

    from zazu.data.masks import polygons_to_mask, rle_to_mask

    cutouts: dict[str, list[Cutout]] = {spec.name: [] for spec in CLASSES}
    for spec in CLASSES:
        dataset = datasets[spec.source]
        wanted = {i for i, c in enumerate(dataset.classes) if c in spec.categories}
        for record in dataset.records:
            source = f"{spec.source}/{record.path}"
            chosen = [inst for inst in record.instances if _usable(inst, wanted, spec)]
            if source not in files or not chosen:
                continue
            image = _open_upright(dataset.root / record.path)
            for inst in chosen:
                if inst.polygons or inst.rle is not None:
                    mask = (polygons_to_mask(inst.polygons, image.height, image.width) if inst.polygons
                            else rle_to_mask(inst.rle))
                    ys, xs = np.nonzero(mask)
                    if len(xs) == 0:
                        continue
                    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
                    alpha = Image.fromarray(mask[box[1]:box[3], box[0]:box[2]] * 255)
                else:  # a box only: the rectangle is the cut-out
                    box = tuple(int(round(v)) for v in inst.box)
                    alpha = Image.new("L", (box[2] - box[0], box[3] - box[1]), 255)
                if box[2] - box[0] < 2 or box[3] - box[1] < 2:
                    continue
                rgba = image.crop(box).convert("RGBA")
                rgba.putalpha(alpha)
                largest = 1.6 * spec.median
                size = _box_size(box)
                if size > largest:
                    scale = largest / size
                    rgba = rgba.resize((max(2, round(rgba.width * scale)), max(2, round(rgba.height * scale))),
                                       Image.LANCZOS)
                cutouts[spec.name].append(Cutout(spec.name, source, rgba))
    return cutouts


def find_backgrounds(datasets: dict, files: set[str]) -> list[Background]:
    """The tiny_coco photos of `files`, with their objects of the three classes (and crowd regions) to fill in.
    Not the raccoon photos: a raccoon fills most of its photo, and many hold people no box names."""
    taken = {c for spec in CLASSES if spec.source == BACKGROUND_SOURCE for c in spec.categories}
    dataset = datasets[BACKGROUND_SOURCE]
    backgrounds = []
    for record in dataset.records:
        source = f"{BACKGROUND_SOURCE}/{record.path}"
        if source not in files or record.path in dataset.duplicates:
            continue
        holes = tuple(("rle", inst.rle) if inst.rle is not None else ("polygons", inst.polygons)
                      for inst in record.instances
                      if (dataset.classes[inst.label] in taken or inst.iscrowd)
                      and (inst.rle is not None or inst.polygons))
        backgrounds.append(Background(source, dataset.root / record.path, holes))
    return backgrounds


# ---------------------------------------------------------------- composing


def _hole_mask(background: Background, width: int, height: int) -> np.ndarray:
    """The pixels of the background's objects of the three classes (and its crowd regions)."""
    from zazu.data.masks import polygons_to_mask, rle_to_mask

    mask = np.zeros((height, width), bool)
    for kind, data in background.holes:
        if kind == "polygons":
            mask |= polygons_to_mask(data, height, width).astype(bool)
        elif kind == "rle":
            rle_mask = rle_to_mask(data).astype(bool)
            if rle_mask.shape == mask.shape:
                mask |= rle_mask
    return mask


def fill_holes(image: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """`image` (float [H, W, 3]) with the `holes` pixels replaced by a smooth fill of the colours around them:
    a normalised Gaussian blur of the known pixels at quarter size, the narrowest that reaches every hole."""
    from PIL import Image
    from scipy.ndimage import binary_dilation, gaussian_filter

    if not holes.any():
        return image
    holes = binary_dilation(holes, iterations=4)  # mask edges miss a few pixels of the object
    height, width = holes.shape
    small_size = (max(8, width // 4), max(8, height // 4))
    known = np.asarray(Image.fromarray(((~holes) * 255).astype(np.uint8)).resize(small_size, Image.BILINEAR),
                       np.float32) / 255
    known = np.where(known > 0.99, 1.0, 0.0).astype(np.float32)  # a pixel that straddles a hole is not known
    small = np.asarray(Image.fromarray(image.astype(np.uint8)).resize(small_size, Image.BILINEAR), np.float32)
    filled = np.zeros_like(small)
    todo = np.ones(known.shape, bool)
    for sigma in (2, 4, 8, 16, 32, 64, 128):
        weight = gaussian_filter(known, sigma)
        reached = todo & (weight > 0.02)
        for channel in range(3):
            blurred = gaussian_filter(small[..., channel] * known, sigma)
            filled[..., channel][reached] = blurred[reached] / weight[reached]
        todo &= ~reached
        if not todo.any():
            break
    filled[todo] = small[known > 0].mean(axis=0) if (known > 0).any() else 128
    fill = np.asarray(Image.fromarray(filled.clip(0, 255).astype(np.uint8)).resize((width, height), Image.BILINEAR),
                      np.float32)
    soft = gaussian_filter(holes.astype(np.float32), 2)[..., None].clip(0, 1)  # no hard seam at the hole's edge
    soft = np.maximum(soft, holes[..., None])
    return image * (1 - soft) + fill * soft


def compose_background(background: Background, rng: np.random.Generator) -> np.ndarray:
    """A float [HEIGHT, WIDTH, 3] background: the photo with its objects filled in, scaled to cover 640x480
    (and up to 1.3x more), a random crop of it, flipped half the time."""
    from PIL import Image

    photo = _open_upright(background.path)
    holes = _hole_mask(background, photo.width, photo.height)
    scale = max(WIDTH / photo.width, HEIGHT / photo.height) * rng.uniform(1.0, 1.3)
    size = (max(WIDTH, math.ceil(photo.width * scale)), max(HEIGHT, math.ceil(photo.height * scale)))
    photo = np.asarray(photo.resize(size, Image.BILINEAR), np.float32)
    holes = np.asarray(Image.fromarray(holes.astype(np.uint8) * 255).resize(size, Image.NEAREST)) > 127
    x, y = int(rng.integers(0, size[0] - WIDTH + 1)), int(rng.integers(0, size[1] - HEIGHT + 1))
    photo, holes = photo[y:y + HEIGHT, x:x + WIDTH], holes[y:y + HEIGHT, x:x + WIDTH]
    image = fill_holes(photo, holes)
    return image[:, ::-1] if rng.random() < 0.5 else image


def _placements(rng: np.random.Generator, labels: list[str]) -> list[tuple[str, float, float, float]]:
    """(class, size, centre x, centre y) of each object: sizes lognormal around the class's median (within
    0.6x-1.8x of it); persons around a crowd centre per 4 of them (and one more), the others anywhere."""
    specs = {spec.name: spec for spec in CLASSES}
    n_crowd = sum(specs[label].crowd for label in labels)
    crowds = [(rng.uniform(0.2, 0.8) * WIDTH, rng.uniform(0.3, 0.7) * HEIGHT) for _ in range(1 + n_crowd // 4)]
    placed = []
    for label in labels:
        spec = specs[label]
        size = float(np.clip(spec.median * math.exp(rng.normal(0, spec.sigma)), 0.6 * spec.median, 1.8 * spec.median))
        if spec.crowd:  # shoulder to shoulder: spread along x by about one object, less along y
            cx, cy = crowds[int(rng.integers(len(crowds)))]
            x, y = cx + rng.normal(0, 1.0 * size), cy + rng.normal(0, 0.3 * size)
        else:  # at most about a tenth of it out of the image on any side
            x, y = rng.uniform(0.4 * size, WIDTH - 0.4 * size), rng.uniform(0.4 * size, HEIGHT - 0.4 * size)
        placed.append((label, size, float(np.clip(x, 0.3 * size, WIDTH - 0.3 * size)),
                       float(np.clip(y, 0.3 * size, HEIGHT - 0.3 * size))))
    return placed


def compose_image(rng: np.random.Generator, backgrounds: list[Background], cutouts: dict[str, list[Cutout]]):
    """(RGB uint8 image [HEIGHT, WIDTH, 3], [(class, (x0, y0, x1, y1))], source files used, classes of the
    objects dropped as hidden, [visible pixels of each kept object: bool [HEIGHT, WIDTH]], in the objects' order)."""
    from PIL import Image

    background = backgrounds[int(rng.integers(len(backgrounds)))]
    canvas = compose_background(background, rng)
    used = {background.source}
    # gamma-Poisson: more spread than Poisson, as crowded photos are (a few near 30, a few sparse)
    n_objects = int(np.clip(rng.poisson(rng.gamma(4.0, MEAN_PLACED / 4.0)), 3, MAX_PLACED))
    labels = [CLASSES[i].name for i in rng.choice(len(CLASSES), n_objects, p=[spec.share for spec in CLASSES])]
    pastes = []  # (bottom y, cut-out, RGBA array, x0, y0)
    for label, size, cx, cy in _placements(rng, labels):
        cutout = cutouts[label][int(rng.integers(len(cutouts[label])))]
        aspect = cutout.rgba.width / cutout.rgba.height
        width, height = max(2, round(size * math.sqrt(aspect))), max(2, round(size / math.sqrt(aspect)))
        rgba = cutout.rgba.resize((width, height), Image.LANCZOS)
        if rng.random() < 0.5:
            rgba = rgba.transpose(Image.FLIP_LEFT_RIGHT)
        array = np.asarray(rgba, np.float32)
        array[..., :3] *= rng.uniform(0.8, 1.2)  # lighting differs from photo to photo
        x0, y0 = round(cx - width / 2), round(cy - height / 2)
        pastes.append((y0 + height + rng.normal(0, 10), cutout, array, x0, y0))
        used.add(cutout.source)
    pastes.sort(key=lambda p: p[0])  # lower in the image = nearer: pasted later, in front
    owner = np.full((HEIGHT, WIDTH), -1, np.int32)
    full_pixels = []
    for index, (_, _, array, x0, y0) in enumerate(pastes):
        alpha = array[..., 3:] / 255
        full_pixels.append(int((alpha >= 0.5).sum()))
        h, w = alpha.shape[:2]
        ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(WIDTH, x0 + w), min(HEIGHT, y0 + h)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        part = array[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        part_alpha = part[..., 3:] / 255
        region = canvas[iy0:iy1, ix0:ix1]
        canvas[iy0:iy1, ix0:ix1] = part[..., :3] * part_alpha + region * (1 - part_alpha)
        owner[iy0:iy1, ix0:ix1][part_alpha[..., 0] >= 0.5] = index
    objects, dropped, masks = [], [], []
    for index, (_, cutout, _, _, _) in enumerate(pastes):
        visible = owner == index
        ys, xs = np.nonzero(visible)
        if full_pixels[index] == 0 or len(xs) < MIN_VISIBLE * full_pixels[index] or len(xs) == 0:
            dropped.append(cutout.label)
            continue
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)  # x1 = xmax, as Zazu reads VOC
        if min(box[2] - box[0], box[3] - box[1]) < 4:
            dropped.append(cutout.label)
            continue
        objects.append((cutout.label, box))
        masks.append(visible)
    return canvas.clip(0, 255).astype(np.uint8), objects, used, dropped, masks


# ---------------------------------------------------------------- writing


def voc_annotation(filename: str, objects) -> ET.Element:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for key, value in (("width", WIDTH), ("height", HEIGHT), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    for label, (x0, y0, x1, y1) in objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = label
        ET.SubElement(obj, "truncated").text = str(int(x0 == 0 or y0 == 0 or x1 == WIDTH or y1 == HEIGHT))
        ET.SubElement(obj, "difficult").text = "0"
        box = ET.SubElement(obj, "bndbox")
        for key, value in (("xmin", x0), ("ymin", y0), ("xmax", x1), ("ymax", y1)):
            ET.SubElement(box, key).text = str(value)
    ET.indent(root)
    return root


def coco_annotations(image_id: int, first_id: int, objects, masks) -> list[dict]:
    """The COCO instances of one image: per object its visible pixels as RLE (`segmentation`), the tight box of
    them as [x, y, w, h] (the VOC box), their count as `area`; ids from `first_id` on."""
    from zazu.data.masks import mask_to_rle

    category = {spec.name: k for k, spec in enumerate(CLASSES, 1)}
    annotations = []
    for k, ((label, (x0, y0, x1, y1)), mask) in enumerate(zip(objects, masks)):
        annotations.append({"id": first_id + k, "image_id": image_id, "category_id": category[label],
                            "bbox": [x0, y0, x1 - x0, y1 - y0], "area": int(mask.sum()),
                            "segmentation": mask_to_rle(mask), "iscrowd": 0})
    return annotations


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def summarize(images: list[list[tuple[str, tuple]]]) -> dict:
    """Per class: boxes, median / p10 / p90 of sqrt(box area) in px and the share of its boxes with IoU >= 0.3
    to another box of its class; boxes per image: mean, max."""
    classes = {}
    for spec in CLASSES:
        sizes, overlapped = [], 0
        for objects in images:
            boxes = [box for label, box in objects if label == spec.name]
            sizes += [_box_size(box) for box in boxes]
            overlapped += sum(any(_iou(a, b) >= 0.3 for j, b in enumerate(boxes) if j != i)
                              for i, a in enumerate(boxes))
        classes[spec.name] = {
            "boxes": len(sizes),
            "median_size": float(np.median(sizes)) if sizes else None,
            "p10_size": float(np.percentile(sizes, 10)) if sizes else None,
            "p90_size": float(np.percentile(sizes, 90)) if sizes else None,
            "overlapping_share": overlapped / len(sizes) if sizes else None}
    counts = [len(objects) for objects in images]
    return {"images": len(images), "classes": classes,
            "boxes_per_image": {"mean": float(np.mean(counts)) if counts else 0.0,
                                "max": max(counts, default=0), "min": min(counts, default=0)}}


def write_dense_set(output, shared_root, n_train: int = 205, n_val: int = 87, seed: int = 0, fmt: str = "voc") -> dict:
    """Write the dense set into `output` (a new or empty folder) from the raccoon/ and tiny_coco/ datasets in
    `shared_root`, as Pascal VOC (fmt "voc") or as COCO instance segmentation (fmt "coco": the same scenes;
    annotations/instances_{train,val}.json, images/{train,val}/*.jpg). Returns the summary: settings, summary (all images) and per split (summarize's figures),
    {class: objects dropped as hidden}, and sources: {split: sorted source files its images used}."""
    from PIL import Image

    output, shared_root = Path(output), Path(shared_root)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}. Received: {fmt!r}")
    if n_train < 1 or n_val < 1:
        raise ValueError(f"n_train and n_val must be >= 1. Received: n_train={n_train}, n_val={n_val}")
    missing = [shared_root / name for name in SOURCES if not (shared_root / name).is_dir()]
    if missing:
        raise FileNotFoundError(f"shared datasets not found: expected {', '.join(map(str, missing))}")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise FileExistsError(f"{output} already exists and is not an empty folder. Expected a new folder.")

    datasets = {name: read_source(shared_root / name) for name in SOURCES}
    files = split_sources(datasets, seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    temp = output.parent / f".{output.name}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    folders = ("Annotations", "JPEGImages", "ImageSets/Main") if fmt == "voc" else (
        "annotations", "images/train", "images/val")
    for folder in folders:
        (temp / folder).mkdir(parents=True)
    result = {"settings": {"seed": seed, "train": n_train, "val": n_val, "width": WIDTH, "height": HEIGHT,
                           "min_visible": MIN_VISIBLE,
                           **({"format": fmt} if fmt != "voc" else {}),  # the VOC manifest stays as it was
                           "classes": [{"name": s.name, "median": s.median, "sigma": s.sigma, "share": s.share,
                                        "source": s.source, "categories": list(s.categories)} for s in CLASSES]},
              "splits": {}, "sources": {}, "source_files": {},
              "dropped": {spec.name: 0 for spec in CLASSES}}
    everything = []
    try:
        for split_index, (split, count) in enumerate((("train", n_train), ("val", n_val))):
            cutouts = load_cutouts(datasets, files[split])
            backgrounds = find_backgrounds(datasets, files[split])
            empty = [name for name, items in cutouts.items() if not items] + ([] if backgrounds else ["backgrounds"])
            if empty:
                raise ValueError(f"{shared_root}: the {split} sources give no {', '.join(empty)} (seed {seed})")
            used, images, stems = set(), [], []
            coco = {"images": [], "annotations": [],
                    "categories": [{"id": k, "name": spec.name} for k, spec in enumerate(CLASSES, 1)]}
            for index in range(count):
                rng = np.random.default_rng([seed, split_index, index])  # an image does not depend on the others
                pixels, objects, sources, dropped, masks = compose_image(rng, backgrounds, cutouts)
                stem = f"{split}_{index:04d}"
                if fmt == "voc":
                    Image.fromarray(pixels).save(temp / "JPEGImages" / f"{stem}.jpg", "JPEG", quality=90)
                    ET.ElementTree(voc_annotation(f"{stem}.jpg", objects)).write(
                        temp / "Annotations" / f"{stem}.xml", encoding="utf-8", xml_declaration=False)
                else:
                    Image.fromarray(pixels).save(temp / "images" / split / f"{stem}.jpg", "JPEG", quality=90)
                    image_id = split_index * 100_000 + index + 1  # unique over both files
                    coco["images"].append({"id": image_id, "file_name": f"{stem}.jpg", "width": WIDTH,
                                           "height": HEIGHT})
                    coco["annotations"] += coco_annotations(image_id, image_id * 100, objects, masks)
                used |= sources
                for label in dropped:
                    result["dropped"][label] += 1
                images.append(objects)
                stems.append(stem)
            if fmt == "voc":
                (temp / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{s}\n" for s in stems),
                                                                          encoding="utf-8")
            else:
                (temp / "annotations" / f"instances_{split}.json").write_text(json.dumps(coco), encoding="utf-8")
            result["splits"][split] = summarize(images)
            result["sources"][split] = sorted(used)
            result["source_files"][split] = sorted(files[split])
            everything += images
        result["summary"] = summarize(everything)
        (temp / MANIFEST).write_text(json.dumps(result, indent=1), encoding="utf-8")
        if output.exists():
            output.rmdir()  # empty, checked above
        os.rename(temp, output)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return result


# ---------------------------------------------------------------- CLI


def _px(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_summary(result: dict) -> None:
    header = f"{'':<12}{'class':<10}{'boxes':>7}{'median':>8}{'p10':>6}{'p90':>6}{'overlap':>9}"
    print(header + "   (sizes: sqrt(box area) px; overlap: share of boxes with IoU >= 0.3 to one of their class)")
    print("-" * len(header))
    for split, stats in (*result["splits"].items(), ("all", result["summary"])):
        for name, c in stats["classes"].items():
            overlap = "-" if c["overlapping_share"] is None else f"{c['overlapping_share']:.0%}"
            print(f"{split + ' (' + str(stats['images']) + ')':<12}{name:<10}{c['boxes']:>7}{_px(c['median_size']):>8}"
                  f"{_px(c['p10_size']):>6}{_px(c['p90_size']):>6}{overlap:>9}")
        per_image = stats["boxes_per_image"]
        print(f"{'':<12}boxes per image: mean {per_image['mean']:.1f}, max {per_image['max']}, min {per_image['min']}")
    print(f"objects dropped as less than {MIN_VISIBLE:.0%} visible: "
          + ", ".join(f"{name} {n}" for name, n in result["dropped"].items()))
    for split, used in result["sources"].items():
        print(f"{split} sources used: {len(used)} of {len(result['source_files'][split])} files "
              f"({', '.join(f'{n} {sum(s.startswith(n + chr(47)) for s in used)}' for n in SOURCES)})")
    print("hidden set: 13.4 boxes/image (max 30); small 39 px (p10 32), mid 102 px (overlapping), large 188 px")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="a new folder for the dataset")
    parser.add_argument("--format", choices=FORMATS, default="voc",
                        help="voc: Pascal VOC boxes (default); coco: COCO instance segmentation of the same scenes "
                             "(visible pixels as RLE masks, the same boxes)")
    parser.add_argument("--shared", type=Path, default=SHARED,
                        help=f"the shared datasets folder holding {' and '.join(SOURCES)} (default: {SHARED})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=205, help="train images")
    parser.add_argument("--val", type=int, default=87, help="val images")
    args = parser.parse_args(argv)
    try:
        result = write_dense_set(args.output, args.shared, n_train=args.train, n_val=args.val, seed=args.seed,
                                 fmt=args.format)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        parser.error(str(e))
    print(f"wrote {args.output} (seed {args.seed})")
    print_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
