"""The report's sections: each turns part of a `RunData` into HTML (and PNGs in the report folder).

A section that lacks its input says "not available" and why. Sections may
branch on the task, never on a model's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zazu.budget import describe_target, has_budget
from zazu.pareto import pareto_front
from zazu.report import plots
from zazu.report.card import model_card, share_text
from zazu.report.confusion import class_scores, matrix_for, variants
from zazu.report.html import esc, image, images, not_available, paragraph, table
from zazu.report.run_reader import RunData, Trial, best_ap_file, numbers_only
from zazu.tasks import CLASSIFICATION, INSTANCE_SEGMENTATION, OBJECT_SIZES, is_size_metric
from zazu.trial_status import TrialStatus

REPORT_DIR = "report"  # PNGs live in <run>/report/, next to <run>/report.html
VARIANT_ORDER = ("keras", "float", "float32", "float16", "dynamic", "int8")
PROFILE_FIELDS = (("file_size_bytes", "file size (KiB)", 1024), ("parameters", "parameters", 1),
                  ("macs", "MACs", 1), ("peak_activation_bytes", "peak activations (KiB)", 1024),
                  ("latency_median_ms", "latency median (ms)", 1), ("latency_p90_ms", "latency p90 (ms)", 1),
                  ("num_threads", "threads", 1))
MAX_SAMPLES = 16


def file_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class Figures:
    """Where a section writes its PNGs, and the src the HTML uses for them."""

    def __init__(self, run_dir: Path):
        self.folder = run_dir / REPORT_DIR

    def path(self, name: str) -> Path:
        return self.folder / f"{file_stem(name)}.png"

    @staticmethod
    def src(path: Path) -> str:
        return f"{REPORT_DIR}/{path.name}"


def _ordered_variants(names) -> list[str]:
    known = [v for v in VARIANT_ORDER if v in names]
    return known + [v for v in names if v not in known]


def _completed(run: RunData) -> list[Trial]:
    return [t for t in run.trials if t.status == TrialStatus.COMPLETED and run.objective in t.metrics]


# -- summary -------------------------------------------------------------------------------------
def summary(run: RunData, figures: Figures) -> str:
    parts = []
    if run.best is not None:
        best_metrics = numbers_only(run.best.get("metrics"))
        parts.append(f"<h3>Best trial: {esc(run.best.get('model', '?'))} #{esc(run.best.get('trial_id', '?'))}</h3>")
        if run.best.get("chosen_by"):
            parts.append(paragraph(f"Chosen by its {run.best['chosen_by']} (what ships)"
                                   + _budget_words(run.best.get("target"))
                                   + "; the rule and the front it was picked from are under Accuracy vs cost."))
        int8_metrics = numbers_only(run.best.get("int8_metrics"))
        parts.append(table(["metric", "float (Keras)", "int8 (.tflite)"],
                           [(name, value, int8_metrics.get(name, "")) for name, value in best_metrics.items()
                            if not is_size_metric(name)]))
        if any(is_size_metric(name) for name in best_metrics):
            parts.append(paragraph("AP by object size and per class: under Per class."))
    else:
        parts.append("<h3>Best trial</h3>" + not_available(run.why("best_trial.json")))
    unreadable = [why for name, why in run.unavailable.items() if name.startswith("trials/")
                  and name.endswith("/trial.json")]
    if unreadable:
        parts.append(not_available("trial records left out: " + "; ".join(unreadable)))
    if run.trials:
        statuses: dict[str, int] = {}
        for t in run.trials:
            statuses[t.status] = statuses.get(t.status, 0) + 1
        parts.append(paragraph(f"{len(run.trials)} trial(s): "
                               + ", ".join(f"{n} {s.lower()}" for s, n in sorted(statuses.items()))))
    parts.append("<h3>Config</h3>")
    if run.config is None:
        parts.append(not_available(run.why("config.yaml")))
    else:
        keys = ("task", "data", "models", "top_k", "model_priority_space", "max_trials", "search_method", "epochs",
                "time_budget", "seed")
        rows = [(k, json.dumps(run.config[k]) if isinstance(run.config[k], (dict, list, type(None)))
                 else run.config[k]) for k in keys if k in run.config]
        parts.append(table(["key", "value"], rows))
    return "".join(parts)


def _budget_words(target: Any) -> str:
    if not isinstance(target, dict):
        return ""
    try:
        return f", within the budget {describe_target(target)}" if has_budget(target) else ", with no budget set"
    except (KeyError, TypeError):  # a hand-edited best_trial.json: leave the budget out rather than fail
        return ""


# leaderboard.csv's columns as the report heads them (units in the header, not in every cell)
LEADERBOARD_HEADERS = {"trial_id": "trial", "int8_drop": "int8 drop", "model_kb": "int8 KiB", "ram_kb": "RAM KiB", "latency_ms": "latency ms",
                       "wall_time_s": "time s", "epochs_trained": "epochs"}
# the columns the report's leaderboard shows besides the objective (float, int8) and the searched hyperparameters
LEADERBOARD_COLUMNS = ("rank", "model", "trial_id", "status", "epochs_trained", "model_kb", "ram_kb", "latency_ms",
                       "wall_time_s", "error")


# -- leaderboard ---------------------------------------------------------------------------------
def leaderboard(run: RunData, figures: Figures) -> str:
    if run.leaderboard is not None:  # the objective in float and int8 here; every other metric in leaderboard.csv
        shown = (*LEADERBOARD_COLUMNS, run.objective, f"int8_{run.objective}", "int8_drop")
        filled = [c for c in run.leaderboard_columns  # no column empty in every row
                  if any(str(row.get(c, "")).strip() for row in run.leaderboard)]
        columns = [c for c in filled if c in shown or c.startswith("hp.")]
        rows = [[row.get(c, "") for c in columns] for row in run.leaderboard]
        css = ["failed" if row.get("status") not in (None, TrialStatus.COMPLETED) else "" for row in run.leaderboard]
        headers = [LEADERBOARD_HEADERS.get(c, c.removeprefix("hp.").replace("_", " ")) for c in columns]
        others = [c for c in filled if c not in columns]
        sized = sum(is_size_metric(c) for c in others)
        named = [c for c in others if not is_size_metric(c)]
        note = (f"Also in leaderboard.csv: {', '.join(named)}" + (f" and {sized} AP-by-size columns" if sized else "")
                + "; the best trial's AP by size and per class are under Per class.")
        return table(headers, rows, css) + (paragraph(note) if others else "")
    if not run.trials or run.objective is None:
        return not_available(run.why("leaderboard.csv"))
    ranked = sorted(_completed(run), key=lambda t: t.metrics[run.objective], reverse=run.direction == "max")
    rest = [t for t in run.trials if t not in ranked]
    rows = [[i if t in ranked else "", t.model, t.trial_id, t.status, t.metrics.get(run.objective, ""),
             json.dumps(t.hyperparameters), str(t.record.get("error", ""))] for i, t in enumerate(ranked + rest, 1)]
    return (not_available(run.why("leaderboard.csv") + "; ranked below from trials/*/trial.json instead")
            + table(["rank", "model", "trial", "status", run.objective, "hyperparameters", "error"], rows,
                    ["" if t in ranked else "failed" for t in ranked + rest]))


# -- export --------------------------------------------------------------------------------------
def export(run: RunData, figures: Figures) -> str:
    if run.export is None:
        return not_available(run.why("export/export.json"))
    parts = [paragraph(f"Exported: {run.export.get('model', '?')} #{run.export.get('trial_id', '?')}")]
    metrics = run.export.get("metrics")
    metrics = {k: numbers_only(v) for k, v in metrics.items()} if isinstance(metrics, dict) else {}
    parts.append("<h3>Metrics per variant (validation split)</h3>")
    if metrics:
        names = list(dict.fromkeys(m for v in metrics.values() for m in v))
        parts.append(table(["variant", *names],
                           [[v, *[metrics[v].get(m, "") for m in names]] for v in _ordered_variants(list(metrics))]))
    else:
        parts.append(not_available("export.json has no `metrics`"))
    parts.append("<h3>Profile per variant</h3>")
    profile = run.export.get("profile")
    if isinstance(profile, dict) and profile:
        rows = []
        for variant in _ordered_variants(list(profile)):
            values = numbers_only(profile[variant])
            rows.append([variant, *[values[key] / scale if key in values else "" for key, _, scale in PROFILE_FIELDS]])
        parts.append(table(["variant", *[label for _, label, _ in PROFILE_FIELDS]], rows))
    else:
        parts.append(not_available("export.json has no `profile` (parameters, MACs, size, latency per variant)"))
    parts.append("<h3>Edge TPU</h3>")
    edgetpu = run.export.get("edgetpu")
    if isinstance(edgetpu, dict) and edgetpu:
        parts.append(table(["", ""], edgetpu_rows(edgetpu)))
    else:
        parts.append(not_available("export.json has no `edgetpu` summary"))
    folder = run.run_dir / "export"
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if files:
        parts.append("<h3>Files</h3>" + table(["file", "size (KiB)"],
                                              [(f"export/{p.name}", p.stat().st_size / 1024) for p in files]))
    return "".join(parts)


EDGETPU_FIELDS = (("ops_total", "ops in the int8 model"), ("ops_mapped", "ops mappable to the Edge TPU"),
                  ("mapped_ops_share", "share of ops mappable"), ("mapped_macs_share", "share of MACs mappable"),
                  ("first_fallback", "first op falling back to the CPU"))


def edgetpu_rows(edgetpu: dict) -> list[tuple[str, str]]:
    """export.json's `edgetpu` as (what, value) in words: shares as percentages, the compiler's verdict as text."""
    rows = []
    for key, label in EDGETPU_FIELDS:
        if key in edgetpu:
            value = edgetpu[key]
            rows.append((label, share_text(value) if key.endswith("_share") else "none" if value is None
                         else str(value)))
    compiler = edgetpu.get("compiler")
    if isinstance(compiler, dict):  # {available, message}; older runs wrote the message alone
        compiler = compiler.get("message") or ("compiled" if compiler.get("available") else "not run")
    if compiler:
        rows.append(("edgetpu_compiler", str(compiler)))
    if edgetpu.get("report"):
        rows.append(("op-by-op report", str(edgetpu["report"])))
    return rows


# -- accuracy vs cost ----------------------------------------------------------------------------
def _shipped_metric(trial: Trial, objective: str) -> tuple[float, str]:
    """The trial's int8 metric when its profile scored the int8 model, else its float one (and which)."""
    int8 = numbers_only((trial.profile or {}).get("metrics")).get(objective)
    return (int8, "int8") if int8 is not None else (trial.metrics[objective], "float")


def cost(run: RunData, figures: Figures) -> str:
    if run.objective is None:
        return not_available("the run's task is unknown (config.yaml and trial records name none)")
    points, missing = [], []
    for t in _completed(run):
        profile = numbers_only(t.profile)
        if "latency_median_ms" in profile and "file_size_bytes" in profile:
            metric, kind = _shipped_metric(t, run.objective)
            points.append((t, metric, kind, profile["latency_median_ms"], profile["file_size_bytes"]))
        else:
            missing.append(t.name)
    if not points:
        return not_available("no completed trial has an int8 profile (trials/<model>-<id>/profile.json with "
                             "latency_median_ms and file_size_bytes)")
    maximize = run.direction == "max"
    front = pareto_front([(m, lat, size) for _, m, _k, lat, size in points], (maximize, False, False))
    cost_points = [plots.CostPoint(t.name, t.model, m, lat, size, on)
                   for (t, m, _k, lat, size), on in zip(points, front)]
    path = plots.pareto_plot(cost_points, run.objective, figures.path("pareto"))
    rows = [[p.name, f"{p.metric:.4f} ({kind})", p.latency_ms, p.size_bytes / 1024, "yes" if p.on_front else "",
             t.profile_source] for p, (t, _m, kind, *_ignored) in zip(cost_points, points)]
    parts = [image(figures.src(path), f"{run.objective} vs int8 latency and size; Pareto front ringed"),
             paragraph(f"Every completed trial's int8 model, scored on the val split and timed on this CPU "
                       f"(LiteRT); the metric is the int8 one unless the row says float."),
             table(["trial", run.objective, "CPU latency median (ms)", "size (KiB)", "Pareto front", "profile from"],
                   rows)]
    if missing:
        parts.append(not_available("no int8 profile for " + ", ".join(missing)))
    parts.append("<h3>The front the winner was picked from</h3>" + _search_front(run))
    return "".join(parts)


def _search_front(run: RunData) -> str:
    """pareto.json: the within-budget front on the target's latency (measured or estimated), the rule, the pick."""
    if run.pareto is None:
        return not_available(run.why("pareto.json"))
    trials = [t for t in run.pareto.get("trials") or [] if isinstance(t, dict)]
    chosen = run.pareto.get("chosen")
    rows = [[f"{t.get('model')}-{t.get('trial_id')}", t.get(run.objective, ""), t.get("latency_ms", ""),
             t.get("latency_source", ""), t.get("model_kb", ""),
             "shipped" if f"{t.get('model')}-{t.get('trial_id')}" == chosen else ""] for t in trials]
    parts = [paragraph(f"Rule: {run.pareto.get('rule', '?')}. Priorities (accuracy, speed, memory): "
                       f"{run.pareto.get('priorities', '?')}.")]
    if not rows:
        parts.append(not_available("no completed trial within the budget has a measured cost"))
    else:
        parts.append(table(["trial", f"int8 {run.objective}", "latency (ms)", "latency from", "int8 size (KiB)",
                            ""], rows))
    parts.append(paragraph("Any of these ships with `zazu export RUN_DIR --trial <model>-<id>`."))
    return "".join(parts)


# -- learning curves -----------------------------------------------------------------------------
def curves(run: RunData, figures: Figures) -> str:
    items, missing = [], []
    for t in run.trials:
        if t.history:
            path = plots.learning_curves(t, figures.path(f"curves-{t.model}-{t.trial_id}"))
            items.append((figures.src(path), f"{t.name}: per-epoch metrics from history.csv"))
        else:
            missing.append(t.name)
    if not items:
        return not_available("no trial has a history.csv" if run.trials else run.why("trials/"))
    return images(items) + (not_available("no history.csv for " + ", ".join(missing)) if missing else "")


# -- fitted to the data -------------------------------------------------------------------------
def data_fit(run: RunData, figures: Figures) -> str:
    """The training boxes' sizes per class, and what each model's entry took from them."""
    if run.task == CLASSIFICATION:
        return paragraph("Classification entries are searched as written: nothing is fitted to the data.")
    fit = run.data_fit
    if not fit:
        return not_available(run.why("data_fit.json") + " (runs before data fitting, or classification)")
    parts = []
    stats = fit.get("box_stats") if isinstance(fit.get("box_stats"), dict) else None
    if stats:
        parts.append(paragraph(
            f"{stats.get('images')} training images, {_number(stats.get('mean_per_image'))} objects an image on "
            f"average, up to {stats.get('max_per_image')}; same-class neighbours overlap at IoU up to "
            f"{_number(stats.get('same_class_overlap_p99'))} (99th percentile). Object size is the square root "
            f"of the box area, in original pixels (images of {_number(stats.get('median_long_side'))} px, median "
            f"longer side)."))
        rows = [[c.get("name"), c.get("count"), _number(c.get("median_px")), _number(c.get("p10_px"))]
                for c in stats.get("classes") or [] if isinstance(c, dict)]
        parts.append(table(["class", "objects", "median size (px)", "10th percentile (px)"], rows))
    for model, entry in (fit.get("models") or {}).items():
        if not isinstance(entry, dict):
            continue
        lines = [*(entry.get("notes") or []), *(f"warning: {w}" for w in entry.get("warnings") or [])]
        parts.append(f"<h3>{esc(model)}</h3>" + ("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>"
                                                 if lines else paragraph("entry used as written")))
    return "".join(parts)


def _number(value: Any) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else esc(value)


# -- hyperparameters -----------------------------------------------------------------------------
def hyperparameters(run: RunData, figures: Figures) -> str:
    if run.objective is None:
        return not_available("the run's task is unknown (config.yaml and trial records name none)")
    by_model: dict[str, list[Trial]] = {}
    for t in run.trials:
        by_model.setdefault(t.model, []).append(t)
    if not by_model:
        return not_available(run.why("trials/"))
    parts = []
    for model, trials in by_model.items():
        path = plots.hyperparameter_plot(model, trials, run.objective, figures.path(f"hp-{model}"))
        if path is None:
            parts.append(f"<h3>{esc(model)}</h3>" + not_available("no completed trial, or no searched hyperparameter"))
        else:
            parts.append(image(figures.src(path), f"{model}: {run.objective} against each searched hyperparameter"))
    return "".join(parts)


# -- per class -----------------------------------------------------------------------------------
def classes(run: RunData, figures: Figures) -> str:
    if run.task == CLASSIFICATION:
        return _classification_classes(run, figures)
    if run.task is None:
        return not_available("the run's task is unknown (config.yaml and trial records name none)")
    return _per_class_ap(run)


def _classification_classes(run: RunData, figures: Figures) -> str:
    data = run.val_predictions
    if data is None:
        return not_available(run.why("export/val_predictions.json"))
    found = variants(data)
    if not found:
        return not_available("export/val_predictions.json has no variant that predicted every record")
    names = [str(c) for c in data["classes"]]
    ordered = _ordered_variants(found)
    primary = "int8" if "int8" in ordered else ordered[-1]
    matrices = {v: matrix_for(data, v) for v in ordered}
    path = plots.confusion_plot(matrices[primary], names,
                                f"{primary} on {sum(map(sum, matrices[primary]))} validation images",
                                figures.path(f"confusion-{primary}"))
    scores = {v: class_scores(m, names) for v, m in matrices.items()}
    columns = ["class", "support"] + [f"{h} ({v})" for v in ordered for h in ("precision", "recall")]
    rows = [[names[k], scores[primary][k].support,
             *[x if x is not None else "n/a" for v in ordered for x in (scores[v][k].precision, scores[v][k].recall)]]
            for k in range(len(names))]
    accuracy = [(v, sum(m[k][k] for k in range(len(names))) / max(1, sum(map(sum, m)))) for v, m in matrices.items()]
    return (image(figures.src(path), f"confusion matrix of the {primary} model (rows: true class)")
            + "<h3>Per-class precision and recall</h3>" + table(columns, rows)
            + paragraph("Accuracy recomputed from these predictions: "
                        + ", ".join(f"{v} {a:.4f}" for v, a in accuracy)
                        + ". n/a: no image predicted as (precision) or labelled as (recall) that class."))


def _per_class_ap(run: RunData) -> str:
    if run.best is None:
        return not_available(run.why("best_trial.json") + " (per-class AP is read from the best trial's folder)")
    name = best_ap_file(run)
    kind = "mask AP" if run.task == INSTANCE_SEGMENTATION else "box AP"
    parts = []
    details = run.best_ap
    if details is None:
        parts.append(not_available(run.why(name)))
    elif not details.per_class:
        parts.append(not_available(f"{name} has no class with ground truth in the val split"))
    else:
        worst_first = sorted(details.per_class.items(), key=lambda item: item[1].get("AP", float("inf")))
        parts.append(paragraph(f"COCO {kind} per class of the best trial on the val split, worst first (from "
                               f"{name}): AP over IoU 0.5:0.95, AP50 at IoU 0.5; objects: those scored "
                               f"(crowd regions and difficult objects left out)."))
        if details.older:
            parts.append(table(["class", "AP"], [(c, v.get("AP", "")) for c, v in worst_first])
                         + not_available(f"AP50 and object counts: {name} was written by an older Zazu "
                                         f"({{class: AP}} only)"))
        else:
            parts.append(table(["class", "AP", "AP50", "objects"],
                               [(c, v.get("AP", ""), v.get("AP50", ""), _count(v.get("instances")))
                                for c, v in worst_first]))
    parts.append("<h3>AP by object size</h3>" + _ap_by_size(run, details, kind))
    return "".join(parts)


def _count(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else ("" if value is None else value)


def _ap_by_size(run: RunData, details: Any, kind: str) -> str:
    """The winner's AP on small, medium and large objects, float and int8, with the objects of each size."""
    from zazu.metrics.coco import SIZE_AREAS

    metrics = numbers_only(run.best.get("metrics"))
    int8 = numbers_only(run.best.get("int8_metrics"))
    by_size = details.by_size if details is not None else {}
    keys = {size: f"{run.objective}_{size}" for size in OBJECT_SIZES}
    if not by_size and not any(key in metrics for key in keys.values()):
        return not_available("the best trial's metrics have no AP by object size (a run from an older Zazu)")
    rows = []
    for size, key in keys.items():
        low, high = SIZE_AREAS[size]
        objects = by_size.get(size, {}).get("instances")
        none = "n/a (no objects)" if objects == 0 else ""
        rows.append((size, f"{low}-{high}" if high is not None else f"> {low}", _count(objects),
                     metrics.get(key, none), int8.get(key, none if int8 else "")))
    return (paragraph(f"COCO {kind} (IoU 0.5:0.95) of the best trial by object size, area in original image "
                      f"pixels² (COCO's ranges{'; masks sized by mask area' if kind == 'mask AP' else ''}); a "
                      f"size without objects in the val split has no AP.")
            + table(["size", "area (px²)", "objects", f"{kind} (float)", f"{kind} (int8)"], rows))


# -- sample predictions ------------------------------------------------------------------------
def predictions(run: RunData, figures: Figures) -> str:
    if run.task == CLASSIFICATION:
        samples, why = _classification_samples(run)
    elif run.prediction_images:
        step = max(1, len(run.prediction_images) // MAX_SAMPLES)
        samples = [plots.Sample(p, p.stem) for p in run.prediction_images[::step][:MAX_SAMPLES]]
        why = ""
    else:
        samples, why = [], "export/predictions/*.png not found"
    if not samples:
        return not_available(why)
    path = plots.image_grid(samples, "validation images with the exported model's predictions",
                            figures.path("predictions"))
    lost = [str(s.image) for s in samples if not s.image.is_file()]
    return (image(figures.src(path), "sample predictions on validation images"
                  + (" (green: right, red: wrong)" if run.task == CLASSIFICATION else ""))
            + (not_available("images not found: " + ", ".join(lost)) if lost else ""))


def _classification_samples(run: RunData) -> tuple[list, str]:
    data = run.val_predictions
    if data is None:
        return [], run.why("export/val_predictions.json")
    found = _ordered_variants(variants(data))
    if not found:
        return [], "export/val_predictions.json has no variant that predicted every record"
    variant = "int8" if "int8" in found else found[-1]
    names = [str(c) for c in data["classes"]]
    records = [r for r in data["records"] if isinstance(r, dict)]
    wrong = [r for r in records if r.get("label") != r["predicted"][variant]]
    right = [r for r in records if r.get("label") == r["predicted"][variant]]
    step = max(1, len(right) // max(1, MAX_SAMPLES - len(wrong)))  # spread: the file is usually ordered by class
    samples = []
    for record in (wrong + right[::step])[:MAX_SAMPLES]:  # the mistakes first
        label, predicted = record.get("label"), record["predicted"][variant]
        path = _image_path(run, str(record.get("path", "")))
        true_name = names[label] if isinstance(label, int) and 0 <= label < len(names) else "?"
        predicted_name = names[predicted] if 0 <= predicted < len(names) else "?"
        samples.append(plots.Sample(path, f"true: {true_name}\n{variant}: {predicted_name}", label == predicted))
    return samples, ""


def _image_path(run: RunData, path: str) -> Path:
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    for base in (run.dataset_root, run.run_dir):
        if base is not None and (base / candidate).is_file():
            return base / candidate
    return (run.dataset_root or run.run_dir) / candidate


# What a user asks first comes first: the model that ships, what it gets wrong, what it was chosen
# from, then every trial, then the details.
SECTIONS: list[tuple[str, str, Callable[[RunData, Figures], str]]] = [
    ("card", "The model that ships", model_card),
    ("predictions", "Sample predictions", predictions),
    ("classes", "Per class", classes),
    ("cost", "Accuracy vs cost", cost),
    ("leaderboard", "Leaderboard", leaderboard),
    ("export", "Exported model", export),
    ("summary", "Run summary", summary),
    ("data_fit", "Fitted to the data", data_fit),
    ("curves", "Learning curves", curves),
    ("hyperparameters", "Hyperparameters", hyperparameters),
]
