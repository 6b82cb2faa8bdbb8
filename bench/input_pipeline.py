"""Input-pipeline benchmark: Zazu's tf.data detection pipeline against a PyDataset baseline.

Both sides read the same JPEG files (random sizes, 256-640 px per side, with
boxes), letterbox them to --size, augment them with the same settings (flip,
rotation, zoom, contrast, noise; boxes follow) and yield batches of
--batch-size. The baseline is written the way the older seed template did it:
a `keras.utils.PyDataset` whose __getitem__ opens every file with PIL,
letterboxes and augments in NumPy/PIL, iterated by index with the default
workers (no multiprocessing).

Epoch 1 is cold (decoding; Zazu fills its cache), later epochs are warm. The
two sides alternate epoch by epoch, so load from other processes falls on both
alike; the load average is printed before and after, since timings on a busy
machine are noisy.

    python bench/input_pipeline.py [--images 1000] [--size 320] [--batch-size 16] [--epochs 3] [--seed 0]
                                   [--augmentation '{"noise": 0}']
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

DATA_VERSION = "jpegs-v1"
MIN_IMAGES = 1000  # the cached folder holds at least this many files
MAX_INSTANCES = 8
PAD = 114  # letterbox grey, as zazu.data.letterbox.PAD_VALUE
MIN_BOX_SIDE = 2.0  # as zazu.data.augment.MIN_BOX_SIDE
AUGMENTATION = {"horizontal_flip": True, "rotation_range": 10, "zoom_range": 0.1, "contrast_range": 0.2,
                "noise": 5.0}


# ----------------------------------------------------------------------------- data

def _render(rng: np.random.Generator):
    """One noisy image of random size with 1-5 shapes; returns (PIL image, [(label, box)])."""
    from PIL import Image, ImageDraw

    from zazu.data.synthetic import SHAPES, shape_polygon

    width, height = (int(v) for v in rng.integers(256, 641, size=2))
    base = rng.uniform(40, 200, size=3)
    pixels = np.clip(base + rng.normal(0, 20, size=(height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    shapes = []
    for _ in range(int(rng.integers(1, 6))):
        label = int(rng.integers(len(SHAPES)))
        r = rng.uniform(0.06, 0.2) * min(width, height)
        cx, cy = rng.uniform(r, width - r), rng.uniform(r, height - r)
        polygon = shape_polygon(SHAPES[label], cx, cy, r, rng.uniform(0, 2 * np.pi))
        draw.polygon(polygon, fill=tuple(int(c) for c in rng.integers(0, 256, size=3)))
        xs, ys = zip(*polygon)
        box = (max(0.0, min(xs)), max(0.0, min(ys)), min(float(width), max(xs)), min(float(height), max(ys)))
        shapes.append((label, [round(float(v), 2) for v in box]))
    return image, shapes


def _write(folder: Path, count: int, seed: int) -> None:
    annotations = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])  # image i is the same whatever `count` is
        image, shapes = _render(rng)
        name = f"{i:05d}.jpg"
        image.save(folder / name, quality=90)
        annotations.append({"file": name, "width": image.width, "height": image.height,
                            "instances": [{"label": label, "box": box} for label, box in shapes]})
    (folder / "annotations.json").write_text(json.dumps(annotations), encoding="utf-8")


def ensure_images(images: int, seed: int, minimum: int = MIN_IMAGES) -> tuple[Path, list[dict]]:
    """A cached folder of at least max(images, minimum) JPEGs; written once, atomically."""
    from zazu.data.synthetic import cache_root

    parent = cache_root() / "bench" / DATA_VERSION
    for existing in sorted(parent.glob(f"seed{seed}-n*")) if parent.is_dir() else []:
        if existing.is_dir() and int(existing.name.rsplit("-n", 1)[1]) >= images:
            return existing, json.loads((existing / "annotations.json").read_text(encoding="utf-8"))[:images]
    count = max(images, minimum)
    target = parent / f"seed{seed}-n{count}"
    print(f"generating {count} JPEGs into {target} ...", flush=True)
    start = time.perf_counter()
    from zazu.atomic_io import atomic_make_folder

    atomic_make_folder(target, lambda folder: _write(folder, count, seed))
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return target, json.loads((target / "annotations.json").read_text(encoding="utf-8"))[:images]


# ----------------------------------------------------------------------------- baseline

def make_baseline_class():
    import keras
    from PIL import Image

    class SeedTemplateDataset(keras.utils.PyDataset):
        """The seed template's loader: PIL decode + NumPy/PIL letterbox and augmentation per item."""

        def __init__(self, paths, boxes, labels, size, batch_size, settings, seed=0, rotate="pil", **kwargs):
            super().__init__(**kwargs)  # default workers=1, use_multiprocessing=False
            self.paths, self.boxes, self.labels = list(paths), boxes, labels
            self.size, self.batch_size, self.s, self.rotate = size, batch_size, settings, rotate
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(self.paths))

        def __len__(self):
            return math.ceil(len(self.paths) / self.batch_size)

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(self.paths))

        def _letterbox(self, path):
            image = Image.open(path).convert("RGB")
            scale = min(self.size / image.height, self.size / image.width)
            new_w = min(max(round(image.width * scale), 1), self.size)
            new_h = min(max(round(image.height * scale), 1), self.size)
            canvas = Image.new("RGB", (self.size, self.size), (PAD, PAD, PAD))
            canvas.paste(image.resize((new_w, new_h), Image.BILINEAR), (0, 0))  # pad bottom/right
            return canvas, scale

        def _augment(self, canvas, boxes):
            """canvas: PIL RGB [S, S]; boxes: [N, 4] xyxy letterboxed pixels. Returns float32 image, boxes."""
            s, rng, size = self.s, self.rng, self.size
            array = np.asarray(canvas)
            boxes = boxes.copy()
            if s["horizontal_flip"] and rng.random() < 0.5:
                array = np.fliplr(array)
                boxes[:, [0, 2]] = size - boxes[:, [2, 0]]
            if s["rotation_range"]:
                angle = rng.uniform(-s["rotation_range"], s["rotation_range"])  # degrees, counter-clockwise
                if self.rotate == "scipy":
                    from scipy import ndimage

                    array = ndimage.rotate(array.astype(np.float32), angle, reshape=False, order=1,
                                           mode="constant", cval=PAD)
                else:
                    array = np.asarray(Image.fromarray(np.ascontiguousarray(array)).rotate(
                        angle, resample=Image.BILINEAR, fillcolor=(PAD, PAD, PAD)))
                boxes = _rotate_boxes(boxes, angle, size)
            if s["zoom_range"]:
                factor = rng.uniform(1 - s["zoom_range"], 1 + s["zoom_range"])
                new = max(1, round(size * factor))
                image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8) if array.dtype != np.uint8
                                        else np.ascontiguousarray(array))
                zoomed = np.asarray(image.resize((new, new), Image.BILINEAR))
                boxes = boxes * (new / size)
                if new >= size:  # zoom in: crop the centre
                    off = (new - size) // 2
                    array = zoomed[off:off + size, off:off + size]
                    boxes -= off
                else:  # zoom out: pad around
                    off = (size - new) // 2
                    array = np.full((size, size, 3), PAD, np.uint8)
                    array[off:off + new, off:off + new] = zoomed
                    boxes += off
            image = array.astype(np.float32)
            if s["contrast_range"]:
                factor = rng.uniform(1 - s["contrast_range"], 1 + s["contrast_range"])
                mean = image.mean(axis=(0, 1), keepdims=True)
                image = (image - mean) * factor + mean
            if s["noise"]:
                image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(s["noise"])
            return np.clip(image, 0, 255), boxes

        def __getitem__(self, index):
            chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            images = np.empty((len(chosen), self.size, self.size, 3), np.float32)
            boxes = np.zeros((len(chosen), MAX_INSTANCES, 4), np.float32)
            labels = np.full((len(chosen), MAX_INSTANCES), -1, np.int32)
            for row, i in enumerate(chosen):
                canvas, scale = self._letterbox(self.paths[i])
                valid = self.labels[i] >= 0
                image, b = self._augment(canvas, self.boxes[i][valid] * scale)
                b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, self.size)
                b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, self.size)
                keep = (b[:, 2] - b[:, 0] >= MIN_BOX_SIDE) & (b[:, 3] - b[:, 1] >= MIN_BOX_SIDE)
                images[row] = image
                n = int(keep.sum())
                boxes[row, :n] = b[keep]
                labels[row, :n] = self.labels[i][valid][keep]
            return images, {"boxes": boxes, "labels": labels}

    return SeedTemplateDataset


def _rotate_boxes(boxes, angle, size):
    """Rotate xyxy boxes counter-clockwise (as shown) by `angle` degrees about the image centre;
    the result is the box around the four rotated corners."""
    if len(boxes) == 0:
        return boxes
    t = np.deg2rad(angle)
    c = size / 2.0
    xs = boxes[:, [0, 2, 2, 0]] - c
    ys = boxes[:, [1, 1, 3, 3]] - c
    rx = xs * np.cos(t) + ys * np.sin(t) + c  # y points down, so counter-clockwise is this sign
    ry = -xs * np.sin(t) + ys * np.cos(t) + c
    return np.stack([rx.min(1), ry.min(1), rx.max(1), ry.max(1)], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------- timing

def run_epochs(epochs, images, sides):
    """Time every epoch of every side, alternating sides epoch by epoch so that load from other
    processes on the machine falls on both alike; returns {name: [seconds per epoch]}."""
    seconds = {name: [] for name in sides}
    for epoch in range(1, epochs + 1):
        for name, iterate_epoch in sides.items():
            start = time.perf_counter()
            seen = iterate_epoch()
            elapsed = time.perf_counter() - start
            seconds[name].append(elapsed)
            if seen != images:
                raise RuntimeError(f"{name}: epoch {epoch} yielded {seen} images, expected {images}")
            print(f"  {name:<9} epoch {epoch}/{epochs}: {elapsed:7.2f} s  {images / elapsed:8.1f} img/s",
                  flush=True)
    return seconds


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # not on every platform
        return "n/a"


def rates(images, seconds):
    cold = images / seconds[0]
    warm = images * (len(seconds) - 1) / sum(seconds[1:]) if len(seconds) > 1 else float("nan")
    overall = images * len(seconds) / sum(seconds)
    return cold, warm, overall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="data, shuffling and augmentation seed")
    parser.add_argument("--baseline-rotate", choices=("pil", "scipy"), default="pil",
                        help="how the baseline rotates: PIL (faster, the default) or scipy.ndimage.rotate")
    parser.add_argument("--augmentation", default="{}", metavar="JSON",
                        help="settings merged over the default set, e.g. '{\"noise\": 0}'; both sides use them")
    parser.add_argument("--quick", action="store_true",
                        help="32 images of 64 px, 2 epochs: a code-path check (seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.size, args.epochs = 32, 64, 2
    try:
        overrides = json.loads(args.augmentation)
    except json.JSONDecodeError as error:
        parser.error(f"--augmentation must be a JSON object. Received: {args.augmentation!r} ({error})")
    if not isinstance(overrides, dict):
        parser.error(f"--augmentation must be a JSON object. Received: {args.augmentation!r}")
    if set(overrides) - set(AUGMENTATION):  # the baseline implements only these
        parser.error(f"--augmentation may set {', '.join(AUGMENTATION)}. Received: {', '.join(overrides)}")
    if args.images < 1 or args.size < 8 or args.batch_size < 1 or args.epochs < 1:
        parser.error("--images, --batch-size and --epochs must be >= 1 and --size >= 8")

    folder, annotations = ensure_images(args.images, args.seed, minimum=args.images if args.quick else MIN_IMAGES)
    paths = [str(folder / a["file"]) for a in annotations]
    size = (args.size, args.size)

    import tensorflow as tf

    from zazu.data import pipeline
    from zazu.data.augment import resolve_augmentation
    from zazu.data.records import ImageRecord, Instance
    from zazu.data.synthetic import cache_root

    from zazu.errors import ConfigError

    try:
        settings = resolve_augmentation({"mosaic": 0, **AUGMENTATION, **overrides})
    except ConfigError as error:
        parser.error(str(error))
    records = [ImageRecord(path=a["file"], width=a["width"], height=a["height"],
                           instances=tuple(Instance(label=i["label"], box=tuple(i["box"])) for i in a["instances"]))
               for a in annotations]

    in_memory = len(paths) * size[0] * size[1] * 3 <= pipeline.MEMORY_CACHE_LIMIT
    # Clear the file cache this run would use, so epoch 1 really decodes (the memory cache is per process).
    # Mirrors the key cache_images() builds for instance_dataset.
    file_cache = cache_root() / "tfdata" / pipeline.fingerprint(paths, {"kind": "letterbox", "size": list(size)})
    if file_cache.exists():
        shutil.rmtree(file_cache)

    print(f"CPU cores (os.cpu_count()): {os.cpu_count()}   load average before: {_load()}")
    print(f"tensorflow {tf.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    print(f"images {len(paths)} from {folder}")
    print(f"size {args.size}x{args.size}  batch {args.batch_size}  epochs {args.epochs}  seed {args.seed}  "
          f"max_instances {MAX_INSTANCES}")
    print(f"augmentation {json.dumps({k: v for k, v in settings.items() if v})}")
    print("zazu cache: " + ("in memory (new per process)" if in_memory
                            else f"file {file_cache} (cleared before the run)"))
    print(f"baseline: keras.utils.PyDataset, workers=1, use_multiprocessing=False, rotate={args.baseline_rotate}")

    # ---- Zazu
    start = time.perf_counter()
    targets = pipeline.instance_targets(records, size, max_instances=MAX_INSTANCES, with_masks=False)
    ds = pipeline.instance_dataset(paths, targets, size, args.batch_size, training=True,
                                   augment_settings=settings, seed=args.seed)
    print(f"zazu setup (targets + dataset build/trace): {time.perf_counter() - start:.2f} s")

    def zazu_epoch():
        seen = 0
        for batch in ds:
            images = batch["images"].numpy()
            batch["bounding_boxes"]["boxes"].numpy()
            seen += images.shape[0]
        return seen

    # ---- baseline
    boxes = np.zeros((len(records), MAX_INSTANCES, 4), np.float32)
    labels = np.full((len(records), MAX_INSTANCES), -1, np.int32)
    for i, record in enumerate(records):
        for j, inst in enumerate(record.instances[:MAX_INSTANCES]):
            boxes[i, j], labels[i, j] = inst.box, inst.label
    baseline = make_baseline_class()(paths, boxes, labels, args.size, args.batch_size, settings, seed=args.seed,
                                     rotate=args.baseline_rotate)

    def baseline_epoch():
        seen = 0
        for index in range(len(baseline)):
            images, _ = baseline[index]
            seen += np.asarray(images).shape[0]
        baseline.on_epoch_end()
        return seen

    print("running (zazu and baseline alternate epoch by epoch) ...", flush=True)
    seconds = run_epochs(args.epochs, len(paths), {"zazu": zazu_epoch, "baseline": baseline_epoch})
    zazu_seconds, base_seconds = seconds["zazu"], seconds["baseline"]

    z, b = rates(len(paths), zazu_seconds), rates(len(paths), base_seconds)
    print(f"load average after: {_load()}")
    print()
    print(f"zazu      epoch1 {z[0]:8.1f} img/s   warm {z[1]:8.1f} img/s   overall {z[2]:8.1f} img/s")
    print(f"baseline  epoch1 {b[0]:8.1f} img/s   warm {b[1]:8.1f} img/s   overall {b[2]:8.1f} img/s")
    print(f"ratio     cold {z[0] / b[0]:6.2f}x   warm {z[1] / b[1]:6.2f}x   overall {z[2] / b[2]:6.2f}x"
          f"   (target: overall >= 5x)")


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    main()
