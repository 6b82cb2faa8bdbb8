"""The models learn, and their int8 files are faithful.

Small deterministic trainings on generated data (a few seconds to two minutes on 2 cores),
each held to a bar far above chance that a plausible bug breaks: a wrong label order, a
broken loss, a calibration on the wrong images, boxes not mapped back to original pixels.
The int8 classifier is scored here with LiteRT directly, from the README's input
quantisation (int8 = pixel - 128), not through Zazu's own prediction code."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

DIGIT_SIZE = 32  # digits are written at the model's input size, so no resampling stands between them
SHAPE_SIZE = 128
NO_EXPORT_EXTRAS = {"profile_runs": 1, "edgetpu_compiler": False, "profile_trials": False}


def _history(run_dir: Path) -> list[dict]:
    best = json.loads((run_dir / "best_trial.json").read_text())
    with open(Path(best["trial_dir"]) / "history.csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _export_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "export" / "export.json").read_text())["metrics"]


# -- classification ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    """tiny_cnn, 8 epochs on scikit-learn's digits (10 classes x 40, 32 px); 120 validation images,
    so one image is less than a point of accuracy."""
    from digit_pngs import write_digit_pngs

    from zazu.config import resolve_config
    from zazu.search.driver import run_search

    root = write_digit_pngs(tmp_path_factory.mktemp("digits10"), n_class=10, per_class=40, upscale=DIGIT_SIZE // 8)
    config = resolve_config(overrides={
        "task": "classification", "data": {"home_path": str(root)}, "val_split": 0.3, "models": ["tiny_cnn"],
        "fixed_hyperparameters": {"learning_rate": 0.003, "augment": False, "input_size": DIGIT_SIZE},
        "epochs": 8, "output": str(tmp_path_factory.mktemp("digits_run") / "run"),
        "export": {"formats": ["keras", "int8"], **NO_EXPORT_EXTRAS}})
    return run_search(config).run_dir


def _val_digits(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    split = json.loads((run_dir / "split.json").read_text())
    root = Path(split["dataset"])
    images = np.stack([np.asarray(Image.open(root / p).convert("RGB"), np.float32) for p in split["val"]])
    labels = np.asarray([split["classes"].index(p.split("/")[0]) for p in split["val"]])
    return images, labels


def test_a_classifier_learns_ten_digits_far_above_chance(digits_run):
    best = json.loads((digits_run / "best_trial.json").read_text())
    assert best["metrics"]["val_accuracy"] >= 0.85  # chance is 0.10; measured 0.967 at the run's seed
    history = _history(digits_run)
    assert history[-1]["loss"] < 0.4 * history[0]["loss"]  # measured 2.23 -> 0.49
    # the learning rate falls by a cosine over the 8 epochs (no deadline here): 0.003 at the first
    rates = [row["learning_rate"] for row in history]
    assert rates == pytest.approx([0.003 * 0.5 * (1 + math.cos(math.pi * e / 8)) for e in range(len(rates))], rel=1e-4)


def test_int8_input_is_raw_pixels_minus_128(digits_run):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(digits_run / "export" / "model_int8.tflite"))
    (inp,) = interpreter.get_input_details()
    assert inp["dtype"] == np.int8
    scale, zero_point = inp["quantization"]
    assert scale == pytest.approx(1.0) and zero_point == -128


def test_int8_classifier_agrees_with_float_within_two_points(digits_run):
    from ai_edge_litert.interpreter import Interpreter

    from zazu.adapters.base import BaseAdapter

    images, labels = _val_digits(digits_run)
    assert len(labels) >= 100  # one image is at most one point
    model = BaseAdapter.load_trained(digits_run / "export" / "model.keras", compile=False)
    float_accuracy = float((np.argmax(model.predict(images, verbose=0), -1) == labels).mean())

    interpreter = Interpreter(model_path=str(digits_run / "export" / "model_int8.tflite"))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    predicted = []
    for image in images:
        interpreter.set_tensor(inp["index"], (image - 128).astype(np.int8)[None])  # the README's quantisation
        interpreter.invoke()
        predicted.append(int(np.argmax(interpreter.get_tensor(out["index"])[0])))
    int8_accuracy = float((np.asarray(predicted) == labels).mean())

    assert float_accuracy >= 0.85
    assert abs(int8_accuracy - float_accuracy) <= 0.02
    recorded = _export_metrics(digits_run)  # what Zazu scored and reported for the same files
    assert recorded["keras"]["val_accuracy"] == pytest.approx(float_accuracy)
    assert recorded["int8"]["val_accuracy"] == pytest.approx(int8_accuracy)


# -- detection and instance segmentation ----------------------------------------------------------

@pytest.fixture(scope="module")
def shapes_128(tmp_path_factory) -> Path:
    """120 images of 128 px with 1-2 shapes each, boxes and polygons (84 train / 36 val)."""
    from zazu.data.synthetic import write_instances_dataset

    return write_instances_dataset(tmp_path_factory.mktemp("shapes128"), images=120, size=SHAPE_SIZE, seed=13,
                                   max_shapes=2, with_polygons=True)


def _pretrained_run(task, model, data, tmp_path_factory, **export) -> Path:
    """10 epochs with the ImageNet backbone frozen (heads trained on cached features), at 128 px and batch 16
    (where the bars below were measured; the entries now train at 4 and 8), `export` overriding the export
    block's (profile_trials off)."""
    from zazu.config import resolve_config
    from zazu.search.driver import run_search

    config = resolve_config(overrides={
        "task": task, "data": {"home_path": str(data)}, "val_split": 0.3, "models": [model],
        "fixed_hyperparameters": {"learning_rate": 0.003, "augment": False, "input_size": SHAPE_SIZE, "batch_size": 16,
                                  "fine_tune_blocks": 0, "freeze_epochs": 10},
        "epochs": 10, "output": str(tmp_path_factory.mktemp(model) / "run"),
        "export": {"formats": ["keras", "int8"], **NO_EXPORT_EXTRAS, **export}})
    return run_search(config).run_dir


@pytest.fixture(scope="module")
def detector_run(shapes_128, tmp_path_factory) -> Path:
    return _pretrained_run("detection", "retinanet_lite", shapes_128, tmp_path_factory)


@pytest.fixture(scope="module")
def segmenter_run(shapes_128, tmp_path_factory) -> Path:
    # as a search runs it: its int8 model profiled, and fine-tuned for int8 when post-training costs more than
    # the bar (export.quantization_aware: auto)
    return _pretrained_run("instance_segmentation", "protonet_lite", shapes_128, tmp_path_factory,
                           profile_trials=True)


def test_a_pretrained_detector_learns_the_shapes_and_its_int8_keeps_it(detector_run):
    metrics = _export_metrics(detector_run)
    assert metrics["keras"]["val_mAP50"] >= 0.75  # measured 0.954 (int8 0.960) at the run's seed
    # int8 may not lose more than 0.03; scoring above float is sampling noise on 36 images, not a loss,
    # so the bar is one-sided. (Before trials were seeded, float ranged 0.83-0.95 from run to run and
    # int8 once lost 0.034: CI failed on noise, not on a change.)
    assert metrics["int8"]["val_mAP50"] >= metrics["keras"]["val_mAP50"] - 0.03
    history = _history(detector_run)
    assert history[-1]["loss"] < 0.3 * history[0]["loss"]  # measured 3.65 -> 0.27


def test_a_pretrained_segmenter_learns_the_masks_and_its_int8_keeps_it(segmenter_run):
    metrics = _export_metrics(segmenter_run)
    assert metrics["keras"]["val_mask_mAP50"] >= 0.6  # measured 0.973 (int8 0.970) at the run's seed
    # The model that ships (fine-tuned for int8 when post-training int8 lost more than 0.02 mask mAP) keeps
    # its masks within 0.03 in int8: `python bench/int8_fidelity.py --models protonet_lite --sets ci-shapes
    # --seeds 1,2,3,4,5` runs this training at five other seeds (post-training alone lost up to 0.047 here)
    assert metrics["int8"]["val_mask_mAP50"] >= metrics["keras"]["val_mask_mAP50"] - 0.03
    assert metrics["int8"]["val_mAP50"] >= metrics["keras"]["val_mAP50"] - 0.03
    # Post-training int8 alone (before any fine-tuning) keeps the task's bar, 0.02 mask mAP (0.5:0.95), since
    # the conversion corrects the biases for the weights' rounding (export.bias_correction): measured 0.006 here,
    # at most 0.014 at seeds 1-5; without the correction 0.030 here (fine-tuning then took it to 0.007).
    best = json.loads((segmenter_run / "best_trial.json").read_text())
    record = json.loads((Path(best["trial_dir"]) / "trial.json").read_text())
    fine_tune = record.get("int8_fine_tune")
    assert (fine_tune["int8_drop_post_training"] if fine_tune else record["int8_drop"]) <= 0.02
    assert metrics["int8"]["val_mask_mAP"] >= metrics["keras"]["val_mask_mAP"] - 0.02
    history = _history(segmenter_run)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


# -- boxes and masks come back in original pixels ---------------------------------------------------

AWKWARD = {  # name: (width, height, grey); each holds one shape placed off-centre
    "landscape": (256, 150, False), "portrait": (140, 250, False), "odd": (173, 97, False),
    "grey": (160, 160, True),
}


def _awkward_image(name: str, seed: int) -> tuple[Image.Image, tuple[float, float, float, float], list]:
    from PIL import ImageDraw

    from zazu.data.synthetic import shape_polygon

    width, height, grey = AWKWARD[name]
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.uniform(60, 120, 3) + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    r = 0.16 * max(width, height)  # about the size of the training shapes once letterboxed
    cx, cy = 0.68 * width, 0.62 * height  # off-centre: a swapped or unscaled axis misses it
    polygon = shape_polygon("square", cx, cy, r, 0.0)
    ImageDraw.Draw(image).polygon(polygon, fill=(250, 235, 20))
    if grey:
        image = image.convert("L")
    return image, (cx - r, cy - r, cx + r, cy + r), polygon


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("variant", ["model.keras", "model_int8.tflite"])
def test_detections_come_back_in_original_pixels_for_awkward_images(detector_run, variant, tmp_path):
    from zazu.inference import Predictor

    predictor = Predictor(detector_run / "export" / variant)
    for k, name in enumerate(AWKWARD):
        image, truth, _ = _awkward_image(name, k)
        path = tmp_path / f"{name}.png"
        image.save(path)
        answer = predictor.predict_file(path)
        assert (answer["width"], answer["height"]) == image.size
        best = max(answer["detections"], key=lambda d: d["score"])
        assert best["label"] == "square", (name, answer["detections"][:3])
        assert _iou(best["box"], truth) >= 0.7, (name, best["box"], truth)


def test_masks_come_back_in_original_pixels_for_awkward_images(segmenter_run, tmp_path):
    from zazu.data.masks import polygons_to_mask, rle_to_mask
    from zazu.inference import Predictor

    predictor = Predictor(segmenter_run / "export" / "model_int8.tflite")
    for k, name in enumerate(AWKWARD):
        image, _, polygon = _awkward_image(name, k)
        path = tmp_path / f"{name}.png"
        image.save(path)
        answer = predictor.predict_file(path)
        best = max(answer["detections"], key=lambda d: d["score"])
        mask = rle_to_mask({**best["mask"], "counts": best["mask"]["counts"].encode()}).astype(bool)
        assert mask.shape == (image.height, image.width)
        truth = polygons_to_mask([[v for xy in polygon for v in xy]], image.height, image.width).astype(bool)
        # masks come from a 32x32 prototype grid (stride 4 at 128 px), so their edges are coarse; a mask
        # placed without the letterbox scale, or transposed, misses the off-centre square (IoU near 0)
        assert (mask & truth).sum() / (mask | truth).sum() >= 0.4, name
