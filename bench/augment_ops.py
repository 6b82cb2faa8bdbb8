"""What each augmentation costs per batch: Keras's geometric layers one by one against Zazu's fused
RandomAffine, the photometric steps and Zazu's RandomMosaic, side by side in one run.

Every figure is the median of --runs calls of a compiled tf.function on the same
batch (--batch-size images of --size px, float32, with 8 boxes each), on all
cores TensorFlow sees. The last lines turn them into milliseconds per image and
into the input pipeline's ceiling for warm (cached) epochs, without and with a
mosaic of every image (detection's `augmentation.mosaic: 1.0`).

    python bench/augment_ops.py [--size 320] [--batch-size 16] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

SETTINGS = {"flip": True, "rotation_degrees": 10.0, "zoom": 0.1, "contrast": 0.2, "noise": 5.0}  # as input_pipeline.py


def median_ms(fn, runs: int) -> float:
    import tensorflow as tf

    fn = tf.function(fn)
    tf.nest.map_structure(lambda t: t.numpy(), fn())  # trace and warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="64 px, batch 4, 2 runs: a code-path check (seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.batch_size, args.runs = 64, 4, 2
    if args.size < 8 or args.batch_size < 1 or args.runs < 1:
        parser.error("--size must be >= 8, --batch-size and --runs >= 1")

    import keras
    import tensorflow as tf

    from zazu.data.affine import RandomAffine
    from zazu.data.letterbox import PAD_VALUE
    from zazu.data.mosaic import RandomMosaic

    b, s = args.batch_size, args.size
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (b, s, s, 3)).astype(np.float32))
    corners = np.sort(rng.uniform(0, s, (b, 8, 2, 2)), axis=2)
    boxes = tf.constant(corners.transpose(0, 1, 3, 2).reshape(b, 8, 4).astype(np.float32))
    batch = {"images": images, "bounding_boxes": {"boxes": boxes, "labels": tf.zeros((b, 8), tf.int32)}}

    fmt = {"bounding_box_format": "xyxy"}
    flip = keras.layers.RandomFlip("horizontal", seed=0, **fmt)
    rotation = keras.layers.RandomRotation(SETTINGS["rotation_degrees"] / 360.0, fill_mode="constant", seed=1, **fmt)
    zoom = keras.layers.RandomZoom(SETTINGS["zoom"], fill_mode="constant", seed=2, **fmt)
    affine = RandomAffine(horizontal_flip=True, rotation_range=SETTINGS["rotation_degrees"],
                          zoom_range=SETTINGS["zoom"], fill_value=PAD_VALUE, seed=0)
    contrast = keras.layers.RandomContrast(SETTINGS["contrast"], value_range=(0, 255), seed=4)
    generator = tf.random.Generator.from_seed(6)
    mosaic = RandomMosaic(1.0, seed=7)

    def keras_chain():
        out = batch
        for layer in (flip, rotation, zoom):
            out = layer(out, training=True)
        return out

    rows = {
        "keras RandomFlip": lambda: flip(batch, training=True),
        "keras RandomRotation": lambda: rotation(batch, training=True),
        "keras RandomZoom": lambda: zoom(batch, training=True),
        "keras flip + rotation + zoom": keras_chain,
        "zazu RandomAffine (all three)": lambda: affine(batch, training=True),
        "keras RandomContrast": lambda: contrast(images, training=True),
        "gaussian noise (tf.random)": lambda: images + generator.normal(tf.shape(images), stddev=SETTINGS["noise"]),
        "clip to 0-255": lambda: tf.clip_by_value(images, 0.0, 255.0),
        "zazu RandomMosaic (every image)": lambda: mosaic(batch, training=True),
    }
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, CPU cores {os.cpu_count()}")
    print(f"batch {b} x {s}x{s}x3 float32, 8 boxes per image, median of {args.runs} runs")
    ms = {}
    for name, fn in rows.items():
        ms[name] = median_ms(fn, args.runs)
        print(f"  {name:<32} {ms[name]:8.2f} ms/batch  {ms[name] / b:6.2f} ms/image")
    print(f"geometry: keras layers / RandomAffine = "
          f"{ms['keras flip + rotation + zoom'] / ms['zazu RandomAffine (all three)']:.2f}x")
    warm = (ms["zazu RandomAffine (all three)"] + ms["keras RandomContrast"] + ms["gaussian noise (tf.random)"]
            + ms["clip to 0-255"]) / b
    print(f"zazu augmentation per image: {warm:.2f} ms  -> at most {1000 / warm:.0f} img/s in a warm epoch")
    with_mosaic = warm + ms["zazu RandomMosaic (every image)"] / b
    print(f"  with a mosaic of every image: {with_mosaic:.2f} ms  -> at most {1000 / with_mosaic:.0f} img/s")


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    main()
