"""Export a trial of a run folder: the winner at the end of a search, or any trial with `zazu export`.

The trial's adapter is re-created from its record (`trials/<model>-<id>/trial.json`),
given its data again (reformat -> data_loader -> preprocess, reading the run's
own dataset.json and split.json) and asked to export itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zazu.atomic_io import atomic_write_json, read_json, recover_folder, replace_folder
from zazu.errors import ConfigError, ZazuError
from zazu.trial_status import TrialStatus


def trial_record(run_dir: Path, trial: str | None = None) -> dict[str, Any]:
    """The record of `trial` (a trial folder name, e.g. `tiny_cnn-0`), or of the run's best trial."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise ZazuError(f"{run_dir} is not a Zazu run folder. Expected a folder with config.yaml and trials/ "
                        f"(written by `zazu search`).")
    if trial is None:
        best = run_dir / "best_trial.json"
        if not best.is_file():
            raise ZazuError(f"{run_dir} has no best_trial.json (no trial completed yet). "
                            f"Name a trial with --trial, one of: {', '.join(_trial_names(run_dir)) or 'none'}.")
        record = read_json(best)
    else:
        path = run_dir / "trials" / trial / "trial.json"
        if not path.is_file():
            from zazu.suggest import did_you_mean

            names = _trial_names(run_dir)
            raise ZazuError(f"No trial {trial!r} in {run_dir / 'trials'}.{did_you_mean(trial, names)} "
                            f"Expected one of: {', '.join(names) or 'none'}.")
        record = read_json(path)
    _check_record(record, best if trial is None else path)
    if record.get("status") != TrialStatus.COMPLETED:
        raise ZazuError(f"Trial {trial or record.get('trial_id')} did not complete (status {record.get('status')}); "
                        "only completed trials have a model to export.")
    return record


def _check_record(record: Any, path: Path) -> None:
    """The fields an export reads from a trial record, checked before any of them is used: an edited or
    foreign file is one RunFolderError naming the field, not a KeyError inside the adapter."""
    from zazu.fields import ID, OBJECT, TEXT, field_errors
    from zazu.errors import RunFolderError

    errors = field_errors(record, {"model": TEXT, "trial_id": ID, "status": TEXT, "trial_dir": TEXT,
                                   "hp_values": OBJECT, "model_specs": OBJECT})
    if not errors:
        errors = [f"model_specs {e}" for e in field_errors(record["model_specs"], {"data": OBJECT, "run_dir": TEXT})]
    if errors:
        raise RunFolderError.not_as_written(path, errors[0], "the trial record")


def _trial_names(run_dir: Path) -> list[str]:
    folder = Path(run_dir) / "trials"
    return sorted(p.name for p in folder.iterdir() if (p / "trial.json").is_file()) if folder.is_dir() else []


def export_trial(run_dir: Path, record: dict[str, Any], options: dict[str, Any], registry=None,
                 out_dir: Path | None = None, log=None, trust_code: bool = False) -> dict[str, Any] | None:
    """Re-create the trial's adapter and let it export into `out_dir` (default <run>/export).

    Returns the export summary (also written as export.json), or None when the
    adapter has no export()."""
    log = log or (lambda message: None)
    run_dir = Path(run_dir)
    spec, adapter = _trial_adapter(run_dir, record, registry, trust_code)
    if not spec.capabilities.exports:
        log(f"{spec.name}'s adapter has no export() method: nothing exported.")
        return None
    out_dir = Path(out_dir) if out_dir else run_dir / "export"
    check_export_target(out_dir)
    _load_data(spec, adapter)
    extra = {k: v for k, v in (("options", options), ("log", log)) if k in spec.capabilities.export_options}

    def fill(staging: Path) -> dict[str, Any]:
        info = adapter.export(Path(record["trial_dir"]), staging, **extra)
        info = {"model": spec.name, "trial_id": record["trial_id"], "trial": Path(record["trial_dir"]).name,
                "trial_metrics": record.get("metrics", {}), **(info or {})}
        info = _moved(info, str(staging), str(out_dir.resolve()))  # the files' paths once swapped in
        _move_paths_in_reports(staging, str(staging), str(out_dir.resolve()))
        atomic_write_json(staging / "export.json", info)
        return info

    try:  # written beside the previous export and swapped in whole: a kill or a full disk keeps the old one
        return replace_folder(out_dir, fill)
    except OSError as e:
        where = e.filename or out_dir
        kept = "the previous export is kept unchanged" if out_dir.exists() else "nothing was written"
        raise ZazuError(f"{where}: the export could not be written ({e.strerror or e}); {kept} in {out_dir}. "
                        "Expected room on the disk (and a folder this user can write).") from None


def check_export_target(out_dir: Path) -> None:
    """An export replaces its folder whole: only a folder that is empty or an earlier export."""
    recover_folder(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "export.json").is_file())):
        raise ConfigError(f"{out_dir} holds files that are not a Zazu export; an export replaces its folder whole. "
                          f"Expected a new or empty folder, or an earlier export. Received: --output {out_dir}")


REPORT_SUFFIXES = (".json", ".txt", ".log")  # an export's own reports, which may name its files


def _move_paths_in_reports(folder: Path, old: str, new: str) -> None:
    """The reports written in the staging folder name their files by where they will be."""
    for path in folder.iterdir():
        if path.is_file() and path.suffix in REPORT_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            if old in text:
                path.write_text(text.replace(old, new), encoding="utf-8", errors="surrogateescape")


def _moved(value: Any, old: str, new: str) -> Any:
    """`value` with every path string under `old` moved under `new`."""
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    if isinstance(value, str) and (value == old or value.startswith(old + os.sep)):
        return new + value[len(old):]
    return value


def _trial_adapter(run_dir: Path, record: dict[str, Any], registry=None, trust_code: bool = False):
    """(the trial's zoo entry, its adapter re-created from the record), from `registry` or the run's own."""
    spec = (registry or _run_registry(run_dir, trust_code)).get(record["model"])
    return spec, spec.adapter_class(record["model_specs"], record["hp_values"])


def _load_data(spec, adapter) -> None:
    """The adapter given the trial's data again (reformat -> data_loader -> preprocess)."""
    from zazu.adapters.lifecycle import DATA_STEPS, run_lifecycle
    from zazu.tasks import get_task

    run_lifecycle(adapter, get_task(spec.task).objective, steps=DATA_STEPS)


def _run_registry(run_dir: Path, trust_code: bool = False):
    """The run's own copy of the models it searched (`models/`, checked before any code is imported), else
    the zoo its config names."""
    import yaml

    from zazu.registry import Registry
    from zazu.run_records import read_manifest, run_models_registry

    if (run_dir / "models" / "models.json").is_file():
        manifest = read_manifest(run_dir) if (run_dir / "run.json").is_file() else {}
        return run_models_registry(run_dir, manifest, trust_code)
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    return Registry.load(config.get("zoo"))


INT8_LAYERS_FILE = "int8_layers.json"  # in the trial folder: `explain_int8`'s answer
DEBUG_IMAGES = 32  # images the float and int8 models are compared on, layer by layer


def explain_int8(run_dir: Path, record: dict[str, Any], options: dict[str, Any], trust_code: bool = False) -> list:
    """Where the trial's int8 model loses against its float self, layer by layer (`zazu.export.int8_debug`):
    calibrated as the export calibrates, compared on training images preprocessed as at inference.
    Written to <trial>/int8_layers.json; returns the LayerErrors, worst first."""
    from zazu.adapters.base import CHECKPOINT

    spec, adapter = _trial_adapter(Path(run_dir), record, trust_code=trust_code)
    _load_data(spec, adapter)
    trial_dir = Path(record["trial_dir"])
    adapter.model = adapter.load_trained(trial_dir / CHECKPOINT, compile=False)
    return explain_trained(adapter, trial_dir, options)


def explain_trained(adapter, trial_dir: Path, options: dict[str, Any]) -> list:
    """`explain_int8` for an adapter whose data and trained model are loaded (the search runs it on a trial
    whose int8 drop is over the task's bar)."""
    import tempfile

    from zazu.export.bundle import converter_settings
    from zazu.export.int8_debug import layer_errors
    from zazu.export.tflite import export_saved_model, int8_prepared_weights

    representative = lambda: adapter.representative_images(options["calibration_images"])  # noqa: E731
    settings = converter_settings(adapter, options)
    # the model as its int8 file is converted: its weights rounded and its biases corrected as the export does
    with tempfile.TemporaryDirectory(prefix="zazu-explain-") as folder, \
            int8_prepared_weights(adapter.model, representative, settings, options["weight_rounding"],
                                  options["bias_correction"]):
        saved_model = export_saved_model(adapter.model, Path(folder) / "saved_model")
        rows = layer_errors(saved_model, representative, lambda: adapter.representative_images(DEBUG_IMAGES), settings)
    atomic_write_json(Path(trial_dir) / INT8_LAYERS_FILE, {"compared_on": f"{DEBUG_IMAGES} training images",
                                                           "layers": [r.to_json() for r in rows]})
    return rows
