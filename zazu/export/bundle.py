"""Export a trained trial and measure what ships: every format, every variant scored
on the validation split, profiled, and checked for the Edge TPU.

`export_bundle(adapter, trial_dir, out_dir, options)` is what `BaseAdapter.export`
runs, at the end of a search (for the winner) and for `zazu export RUN_DIR`.
The adapter gives what differs by task (its converter defaults, representative
images, the one per-image preprocessing, decoding and scoring); everything
here is the same for every task.

Files written into `out_dir`: model.keras, saved_model/, model_{float32,float16,
dynamic,int8}.tflite (each with Zazu metadata inside), model.onnx when asked
for and tf2onnx is installed, labels.txt, metadata.json, profile.json,
edgetpu_report.json (+ edgetpu_compiler.log when the compiler ran) and
export.json (the summary a report reads). Task extras (val_predictions.json,
predictions/*.png) come from `adapter.write_export_extras`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from zazu.adapters.evaluation import evaluate_on_val
from zazu.atomic_io import atomic_write_json
from zazu.export.options import FILE_NAMES, TFLITE_VARIANTS
from zazu.run_records import CHECKPOINT


def export_bundle(adapter, trial_dir: Path, out_dir: Path, options: dict[str, Any],
                  log=lambda message: None) -> dict[str, Any]:
    from zazu import __version__

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    adapter.model = adapter.load_trained(Path(trial_dir) / CHECKPOINT, compile=adapter.reload_compiled)
    metadata = {"zazu_version": __version__, **adapter.inference_metadata()}
    atomic_write_json(out_dir / "metadata.json", metadata)
    (out_dir / "labels.txt").write_text("\n".join(adapter.classes) + "\n", encoding="utf-8")
    files: dict[str, str] = {"labels": str(out_dir / "labels.txt"), "metadata": str(out_dir / "metadata.json")}
    written, notes, timings = write_formats(adapter, out_dir, options, metadata, log)
    files.update(written)

    metrics, drop, predictions = evaluate_variants(adapter, files, log)
    adapter.write_export_extras(out_dir, predictions)
    profiles = profile_variants(files, options, log)
    atomic_write_json(out_dir / "profile.json", profiles)
    edgetpu = None
    if "int8" in files:
        edgetpu = edgetpu_check(Path(files["int8"]), out_dir, options["edgetpu_compiler"])
        log(edgetpu["summary"])
    return {
        "files": files,
        "metrics": metrics,
        "drop": drop,
        "objective": adapter.objective,
        "profile": profiles,
        "edgetpu": edgetpu,
        "input_size": list(adapter.input_size),
        "classes": adapter.classes,
        "val_images": len(adapter.val_records),
        "conversion_seconds": timings,
        "options": options,
        "notes": notes,
    }


def write_formats(adapter, out_dir: Path, options: dict[str, Any], metadata: dict[str, Any],
                  log) -> tuple[dict[str, str], list[str], dict[str, float]]:
    """The trained model written in each of `options["formats"]`, metadata embedded where the format
    holds it: ({format: path}, notes on formats that could not be written, {format: conversion seconds})."""
    from zazu.export.metadata import embed_keras_metadata, embed_tflite_metadata
    from zazu.export.tflite import convert_int8, convert_saved_model, export_saved_model

    formats = list(options["formats"])
    files: dict[str, str] = {}
    notes: list[str] = []
    timings: dict[str, float] = {}

    if "keras" in formats:
        path = out_dir / FILE_NAMES["keras"]
        path.unlink(missing_ok=True)
        adapter.model.save(path)
        embed_keras_metadata(path, {**metadata, "variant": "keras"})
        files["keras"] = str(path)

    settings = converter_settings(adapter, options)
    saved_model = out_dir / FILE_NAMES["saved_model"]
    shutil.rmtree(saved_model, ignore_errors=True)
    # an int8 file with prepared weights is converted from a SavedModel of its own (`convert_int8`)
    own_saved_model = {"int8"} if int8_weights_prepared(options) else set()
    if any((f in TFLITE_VARIANTS and f not in own_saved_model) or f in ("saved_model", "onnx") for f in formats):
        started = time.perf_counter()
        export_saved_model(adapter.model, saved_model)
        timings["saved_model"] = time.perf_counter() - started
        if "saved_model" in formats:
            files["saved_model"] = str(saved_model)
    representative = lambda: adapter.representative_images(options["calibration_images"])  # noqa: E731
    for variant in (f for f in formats if f in TFLITE_VARIANTS):
        started = time.perf_counter()
        if variant in own_saved_model:
            path = convert_int8(adapter.model, representative, out_dir / FILE_NAMES[variant], options["int8_io"],
                                settings, correct_bias=options["bias_correction"],
                                weight_rounding=options["weight_rounding"])
        else:
            path = convert_saved_model(saved_model, variant, out_dir / FILE_NAMES[variant], representative,
                                       io_type=options["int8_io"], settings=settings)
        embed_tflite_metadata(path, {**metadata, "variant": variant})
        timings[variant] = time.perf_counter() - started
        files[variant] = str(path)
        log(f"wrote {path.name} in {timings[variant]:.1f}s")
    if "onnx" in formats:
        onnx = export_onnx(saved_model, out_dir / FILE_NAMES["onnx"])
        if onnx.get("path"):
            files["onnx"] = onnx["path"]
        else:
            notes.append(onnx["message"])
            log(onnx["message"])
    if "saved_model" not in formats and saved_model.exists():
        shutil.rmtree(saved_model)
    return files, notes, timings


def int8_weights_prepared(options: dict[str, Any]) -> bool:
    """Whether the int8 file's weights are prepared before conversion (`zazu.export.tflite.convert_int8`)."""
    return options["bias_correction"] or options["weight_rounding"] != "nearest"


def converter_settings(adapter, options: dict[str, Any]) -> dict[str, Any]:
    """TFLiteConverter settings: the task adapter's defaults, overridden by `export.tflite_converter`."""
    return {**adapter.converter_settings, **(options["tflite_converter"] or {})}


def profile_trial(adapter, trial_dir: Path, options: dict[str, Any], device: str = "cpu") -> dict:
    """A trained trial as it would ship: its int8 model, calibrated on `export.calibration_images`
    training images as the export is, scored on the val split with the task's metric, and measured on
    `device` (`zazu.export.tflite_cost`). Written as trial_dir/profile.json {"int8": {...}}; the search chooses
    its winner by these metrics and the report's Pareto plot draws these figures."""
    import tempfile

    from zazu.export.tflite_cost import tflite_cost
    from zazu.export.litert import TFLiteRunner
    from zazu.export.tflite import convert_int8

    count = options["calibration_images"]
    with tempfile.TemporaryDirectory(prefix="zazu-trial-int8-") as folder:
        path = convert_int8(adapter.model, lambda: adapter.representative_images(count),
                            Path(folder) / "model_int8.tflite", io_type=options["int8_io"],
                            settings=converter_settings(adapter, options), correct_bias=options["bias_correction"],
                            weight_rounding=options["weight_rounding"])
        metrics, _ = evaluate_on_val(adapter, TFLiteRunner(path))
        cost = tflite_cost(path, device, num_threads=options["num_threads"])
    profile = {
        "file_size_bytes": round(cost["model_kb"] * 1024), "parameters": cost["parameters"], "macs": cost["macs"],
        "peak_activation_bytes": round(cost["arena_kb"] * 1024), "latency_median_ms": cost["cpu_latency_ms"],
        "latency_p90_ms": cost["cpu_latency_p90_ms"], "num_threads": cost["cpu_threads"],
        "metrics": metrics, "cost": cost, "calibration_images": count, "bias_correction": options["bias_correction"],
        "weight_rounding": options["weight_rounding"],
        "note": f"this trial's trained model as int8, calibrated on {count} training images{_weights_note(options)}"
                ", scored on the val split",
    }
    write_profile(trial_dir, profile)
    return profile


def _weights_note(options: dict[str, Any]) -> str:
    rounded = ", its weights rounded as chosen against them" if options["weight_rounding"] == "calibrated" else ""
    corrected = ", its biases corrected for the int8 rounding of its weights" if options["bias_correction"] else ""
    return rounded + corrected


def write_profile(trial_dir: Path, profile: dict) -> None:
    """The trial's int8 profile as trial_dir/profile.json, which the report reads."""
    atomic_write_json(Path(trial_dir) / "profile.json", {"int8": profile})


def evaluate_variants(adapter, files: dict[str, str], log) -> tuple[dict, dict, dict]:
    """Score the Keras model and every .tflite on the val split with the task's metric.

    Returns ({variant: metrics}, {variant: objective drop vs keras}, {variant: predictions})."""
    from zazu.export.litert import TFLiteRunner

    runners = {}
    if "keras" in files:
        runners["keras"] = keras_predict_fn(adapter.model)
    for variant in TFLITE_VARIANTS:
        if variant in files:
            runners[variant] = TFLiteRunner(files[variant])
    metrics, predictions = {}, {}
    for variant, predict_fn in runners.items():
        started = time.perf_counter()
        metrics[variant], predictions[variant] = evaluate_on_val(adapter, predict_fn)
        log(f"{variant:>8}: {adapter.objective}={metrics[variant][adapter.objective]:.4f} "
            f"({time.perf_counter() - started:.1f}s over {len(adapter.val_records)} val images)")
    reference = metrics.get("keras")
    drop = {}
    if reference is not None:
        for variant, values in metrics.items():
            if variant != "keras":
                drop[variant] = reference[adapter.objective] - values[adapter.objective]
    return metrics, drop, predictions


def keras_predict_fn(model):
    """A Keras model as a function batch -> list of NumPy outputs (model output order), like TFLiteRunner."""
    import numpy as np

    def predict(batch):
        # predict_on_batch runs a traced function: eager calls cost ~0.5 s an image on a detector
        outputs = model.predict_on_batch(batch)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return [np.asarray(o) for o in outputs]

    return predict


def profile_variants(files: dict[str, str], options: dict, log) -> dict[str, dict]:
    from zazu.export.profile import profile_tflite

    profiles = {}
    for variant in TFLITE_VARIANTS:
        if variant in files:
            profiles[variant] = profile_tflite(files[variant], runs=options["profile_runs"],
                                               num_threads=options["num_threads"])
            p = profiles[variant]
            log(f"{variant:>8}: {p['file_size_bytes'] / 1024:.0f} KiB, latency median "
                f"{p['latency_median_ms']:.2f} ms / p90 {p['latency_p90_ms']:.2f} ms ({p['num_threads']} threads), "
                f"peak activations {p['peak_activation_bytes'] / 1024:.0f} KiB")
    return profiles


def edgetpu_check(int8_path: Path, out_dir: Path, run_compiler: bool) -> dict:
    """Zazu's own op-compatibility report, plus edgetpu_compiler's verdict when it is on PATH."""
    from zazu.export.edgetpu import compatibility_report, op_check_summary, run_edgetpu_compiler

    report = compatibility_report(int8_path)
    if run_compiler:
        compiler = run_edgetpu_compiler(int8_path, out_dir)
    else:
        compiler = {"available": False, "message": "edgetpu_compiler not run (export.edgetpu_compiler is false)"}
    atomic_write_json(out_dir / "edgetpu_report.json", {"zazu": report, "compiler": compiler})
    summary = f"Edge TPU: {op_check_summary(report)}"
    if compiler.get("available") and compiler.get("ok"):
        summary += (f". edgetpu_compiler: {compiler.get('ops_on_edgetpu')} ops on the Edge TPU, "
                    f"{compiler.get('ops_on_cpu')} on the CPU, on-chip memory {compiler.get('on_chip_memory')}")
    else:
        summary += f". {compiler['message']}"
    return {
        "ops_total": report["ops_total"],
        "ops_mapped": report["ops_on_edgetpu"],
        "mapped_ops_share": report["ops_share"],
        "mapped_macs_share": report["macs_share"],
        "first_fallback": report["first_fallback"],
        "compiler": compiler,
        "summary": summary,
        "report": str(out_dir / "edgetpu_report.json"),
    }


def export_onnx(saved_model: Path, path: Path) -> dict:
    """ONNX through tf2onnx when it is installed (it is optional: not in requirements.txt)."""
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        return {"message": "onnx not written: tf2onnx is not installed (pip install -r requirements-onnx.txt)"}
    import subprocess
    import sys

    # A subprocess: tf2onnx rewrites TensorFlow's graph state, which must not leak into this process.
    command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved_model), "--output", str(path),
               "--opset", "17", "--signature_def", "serving_default"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not path.is_file():
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        return {"message": f"onnx not written: tf2onnx failed ({tail})"}
    return {"path": str(path)}
