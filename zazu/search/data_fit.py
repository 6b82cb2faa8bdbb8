"""Fit each searched model's entry to the dataset before the search starts.

Read from the training boxes (`zazu.data.box_stats`), for detection and segmentation models:

- **input size** (detection; see Task.fits_input_size): the sizes a trial may use are those at which the smallest class's median object
  reaches `MIN_OBJECT_PX` (capped at the images' own size and `MAX_FITTED_SIDE`); the entry's
  default moves up to the first of them. Measured on a dense VOC set (small class median 39 px in
  640-px photos): at 320 px its AP was 0.04, at 512 px 0.39. Segmentation (Task.shapes_input) keeps
  its entries' sizes but trains the largest in the images' shape first (`_shape_input`).
- **crowds**: `max_instances` (training targets kept per image) and `max_detections` at least the
  busiest image's count. `nms_iou` stays the adapter's 0.5: set above the overlap of same-class
  neighbours (their 99th-percentile IoU, 0.57 on the dense set, plus 0.05) it kept more duplicates
  than crowded objects and cost 0.05 mAP50 there (0.715 -> 0.665); 0.45-0.6 on another trained model
  gave 0.782, 0.772, 0.757, 0.735. The overlap is recorded.
- **anchors**: the share of boxes some anchor reaches at the chosen size, per class (the coder's
  `anchor_shapes()`); an entry with fixed `anchor_scales` gets smaller or larger scales added when
  that share is short of the goal (AutoAnchor), and a class still short is named in a warning.
- **epochs** (`epochs: auto` under a time budget): enough for `TARGET_STEPS` optimizer steps, so a
  small dataset trains as long as the budget allows (the cosine schedule ends at the deadline).

Values the user fixed (`fixed_hyperparameters`, i.e. `zazu train --hp/--input-size`) are kept. The
fitted entries are what the run folder's `models/` holds, so a resume trains the same; the reasons
go to `<run>/data_fit.json` and the console.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from zazu.adapters.hyperparameters import defaults
from zazu.data.box_stats import BoxStats, box_shapes, box_stats
from zazu.ranking import space_default
from zazu.registry import ModelSpec
from zazu.tasks import get_task

# the smallest class's median object at the input: the stride-8 anchors' 32 px. Dense set, default job: at 34 px
# (448x576) mAP 0.363, small objects 0.299; at 30 px (384x512) 0.345 and 0.265, in the same budget and time
MIN_OBJECT_PX = 32
INPUT_STEP = 64  # input sides stay multiples of the deepest pyramid stride
MAX_FITTED_SIDE = 640  # above this an epoch on 2 cores outgrows the default budget
MAX_GROWTH = 2  # the fit goes up to twice an entry's largest size: what its searched sizes say it was made for
MIN_CLASS_SHARE = 0.05  # a class with fewer of the boxes does not set the input size
# Images of one orientation with a median shorter/longer side at most MAX_SHAPED_ASPECT get an input of
# their shape: [384, 512] for 640x480 photos holds their objects at the size 512x512 does, in 75% of
# the pixels, without the grey bars (dense set, 10 epochs: mAP 0.350 against 0.330 at 512x512; the
# default job: the same, 0.345 against 0.344).
MAX_SHAPED_ASPECT = 0.9
MIN_ORIENTATION_SHARE = 0.8
TARGET_STEPS = 1500  # optimizer steps `epochs: auto` aims at (Ultralytics' small-set runs: thousands)
DEFAULT_EPOCHS = 15  # `epochs: auto` without a time budget, and for classification
MAX_AUTO_EPOCHS = 300
MAX_DETECTIONS_RANGE = (100, 300)


@dataclass
class ModelFit:
    spec: ModelSpec
    notes: list[str] = field(default_factory=list)  # what was chosen and why, one line each
    warnings: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)  # for data_fit.json


def fit_models(models: list[ModelSpec], classes: list[str], train_records, config: dict
               ) -> tuple[BoxStats | None, list[ModelFit]]:
    """(the training boxes' statistics, each model's entry fitted to them: see the module's
    docstring); entries of classification models are unchanged."""
    stats = box_stats(train_records, classes) if any(get_task(m.task).fits_boxes for m in models) else None
    return stats, [fit_model(spec, stats, classes, train_records, config) for spec in models]


def fit_model(spec: ModelSpec, stats: BoxStats | None, classes: list[str], train_records, config: dict) -> ModelFit:
    fixed = config.get("fixed_hyperparameters") or {}
    space = [dict(e) for e in spec.hp_search_space]
    configs = dict(spec.training_configs)
    fit = ModelFit(spec)
    if get_task(spec.task).fits_boxes and stats is not None and stats.classes:
        known = set(getattr(spec.adapter_class, "known_hyperparameters", ())) | set(configs)
        if "input_size" not in fixed and get_task(spec.task).fits_input_size:
            _fit_input_size(space, configs, stats, config, fit)
        elif "input_size" not in fixed and get_task(spec.task).shapes_input:
            _shape_input(space, stats, fit)
        if "anchor_scales" not in fixed:
            _fit_anchors(spec, space, configs, classes, train_records, fit)
        _fit_crowds(spec.task, space, configs, stats, known, fixed, fit,
                    defaults(getattr(spec.adapter_class, "hyperparameters", ())))
    epochs = auto_epochs(spec, config, len(train_records), configs)
    if epochs is not None:
        configs["epochs"] = epochs
        fit.record["epochs"] = epochs
        fit.notes.append(f"epochs {epochs}: about {TARGET_STEPS} steps of batch {configs.get('batch_size', 16)} "
                         f"over {len(train_records)} training images, cut by the time budget")
    fit.spec = _replaced(spec, space, configs)
    return fit


def auto_epochs(spec: ModelSpec, config: dict, train_images: int, configs: dict) -> int | None:
    """`epochs: auto` for a detection or segmentation search under a time budget: epochs for
    TARGET_STEPS steps (at least DEFAULT_EPOCHS); None where the config's `epochs` decides."""
    if config.get("epochs") != "auto" or not get_task(spec.task).fits_boxes or config.get("time_budget") is None:
        return None
    steps = max(1, math.ceil(train_images / int(configs.get("batch_size", 16))))
    return max(DEFAULT_EPOCHS, min(MAX_AUTO_EPOCHS, math.ceil(TARGET_STEPS / steps)))


def epochs_for(spec: ModelSpec, config: dict) -> int:
    """The epochs a model's trials train: the config's number, or with `auto` the fitted one."""
    if config["epochs"] != "auto":
        return int(config["epochs"])
    return int(spec.training_configs.get("epochs", DEFAULT_EPOCHS))


def first_input_size(spec: ModelSpec):
    """The input size a model's first trial trains (its entry's default): a side or [height, width]."""
    return _default(spec.hp_search_space, spec.training_configs, "input_size")


def first_input_side(spec: ModelSpec) -> int | None:
    """The side of a square input with the pixels of the one a model's first trial trains (its entry's
    default): what an epoch costs. None if the entry names no input size."""
    value = first_input_size(spec)
    if value is None:
        return None
    return int(round(math.sqrt(value[0] * value[1]))) if isinstance(value, (list, tuple)) else int(value)


def size_text(value) -> str:
    """An input size as the console says it: 320, or 384x512 (height x width)."""
    return "x".join(str(int(v)) for v in value) if isinstance(value, (list, tuple)) else str(value)


def shaped(side: int, stats: BoxStats):
    """The input for a longer side `side` in the images' shape: [height, width] with the shorter side
    rounded up to INPUT_STEP (the letterbox scale stays side / longer side), or `side` for square or
    mixed-orientation images."""
    orientation = max(stats.landscape_share, 1 - stats.landscape_share)
    if stats.median_aspect > MAX_SHAPED_ASPECT or orientation < MIN_ORIENTATION_SHARE:
        return side
    short = INPUT_STEP * math.ceil(side * stats.median_aspect / INPUT_STEP)
    if short >= side:
        return side
    return [short, side] if stats.landscape_share >= 0.5 else [side, short]


# -- the parts ------------------------------------------------------------------------------
def _side(value) -> int:
    return int(max(value)) if isinstance(value, (list, tuple)) else int(value)


def needed_side(stats: BoxStats, largest: int) -> tuple[int, str]:
    """(the smallest input side, in steps of INPUT_STEP, at which the smallest common class's median
    object reaches MIN_OBJECT_PX, at most the images' own longer side, MAX_FITTED_SIDE and
    MAX_GROWTH x the entry's `largest` size; the reason). Classes with under MIN_CLASS_SHARE of the
    boxes do not set it: a handful of tiny objects would make every epoch slower for little."""
    limit = max(INPUT_STEP, min(MAX_FITTED_SIDE, MAX_GROWTH * largest,
                                INPUT_STEP * math.ceil(stats.median_long_side / INPUT_STEP)))
    total = sum(c.count for c in stats.classes)
    small = min((c for c in stats.classes if c.count >= MIN_CLASS_SHARE * total), key=lambda c: c.median_share)
    wanted = INPUT_STEP * math.ceil(MIN_OBJECT_PX / max(small.median_share, 1e-6) / INPUT_STEP)
    side = min(wanted, limit)
    return side, (f"class `{small.name}` has median objects of {small.median_px:.0f} px in images of "
                  f"{stats.median_long_side:.0f} px: {small.median_share * side:.0f} px at {side}"
                  + ("" if side == wanted else f" ({wanted} would make them {MIN_OBJECT_PX}; capped by the images' "
                                                f"size, {MAX_FITTED_SIDE} or {MAX_GROWTH}x the entry's largest size)"))


def _fit_input_size(space: list[dict], configs: dict, stats: BoxStats, config: dict, fit: ModelFit) -> None:
    entry = next((e for e in space if e["name"] == "input_size"), None)
    sizes = entry.get("values", []) if entry else [configs.get("input_size")]
    side, reason = needed_side(stats, max((_side(v) for v in sizes if v is not None), default=INPUT_STEP))
    def shape(value):
        return value if isinstance(value, (list, tuple)) else shaped(int(value), stats)

    if entry is None or "values" not in entry:
        current = configs.get("input_size")
        if current is not None and _side(current) < side:
            configs["input_size"] = shape(side)
            fit.notes.append(f"input {size_text(configs['input_size'])} px (entry: {size_text(current)}): {reason}")
            fit.record["input_size"] = {"values": [configs["input_size"]], "default": configs["input_size"],
                                        "reason": reason}
        return
    values = entry["values"]
    default = space_default(entry)
    allowed = sorted({_side(v) for v in values if _side(v) >= side}) or [side]
    allowed_values = [v for v in values if _side(v) in allowed] or [side]
    if any(config.get("target", {}).get(k) for k in ("max_latency_ms", "max_model_kb", "max_ram_kb")):
        # a device budget may refuse the larger sizes: keep the smaller ones to fall back on
        allowed_values += [v for v in values if v not in allowed_values]
    chosen = default if _side(default) >= side else allowed_values[0]
    if chosen != default:  # moved up for small objects: in the images' shape (the entry's own sizes stay)
        allowed_values = [shape(v) if _side(v) >= side else v for v in allowed_values]
        chosen = allowed_values[0]
    entry["values"] = allowed_values
    entry["default"] = chosen
    fit.record["input_size"] = {"values": allowed_values, "default": chosen, "reason": reason}
    if chosen != default or allowed_values != values:
        shape_reason = (f"; shaped as the images ({stats.median_aspect:.2f} shorter/longer side)"
                        if isinstance(chosen, list) else "")
        fit.notes.append(f"input {size_text(chosen)} px (entry: {size_text(default)}; searched: "
                         f"{', '.join(size_text(v) for v in allowed_values)}): {reason}{shape_reason}")


def _shape_input(space: list[dict], stats: BoxStats, fit: ModelFit) -> None:
    """The entry's largest searched size as the longer side, in the images' shape, trained first (the
    entry's own sizes after it): for 640x480 photos and sizes 192-256, 192x256, objects at the scale of
    256 px for a third more pixels than 192x192. Unchanged for square or mixed-orientation images."""
    entry = next((e for e in space if e["name"] == "input_size"), None)
    if entry is None or "values" not in entry:
        return
    values = entry["values"]
    largest = max(_side(v) for v in values)
    chosen = shaped(largest, stats)
    if not isinstance(chosen, list):
        return
    default = space_default(entry)
    entry["values"] = [chosen] + [v for v in values if v != chosen]
    entry["default"] = chosen
    reason = (f"the images' shape ({stats.median_aspect:.2f} shorter/longer side) with the entry's largest "
              f"size, {largest}, as its longer side")
    fit.record["input_size"] = {"values": entry["values"], "default": chosen, "reason": reason}
    fit.notes.append(f"input {size_text(chosen)} px (entry: {size_text(default)}; searched: "
                     f"{', '.join(size_text(v) for v in entry['values'])}): {reason}")


def _fit_crowds(task: str, space: list[dict], configs: dict, stats: BoxStats, known: set, fixed: dict,
                fit: ModelFit, declared: dict) -> None:
    searched = {e["name"] for e in space}
    busiest = stats.max_per_image
    wanted = {
        "max_instances": min(get_task(task).max_instances_cap, busiest),
        "max_detections": min(MAX_DETECTIONS_RANGE[1], max(MAX_DETECTIONS_RANGE[0], 3 * busiest)),
    }
    changed = {}
    for name, value in wanted.items():
        if name not in known or name in searched or name in fixed:
            continue
        current = {**declared, **configs}.get(name)  # the entry's value, else its task base's default
        if current is not None and value > current:
            configs[name] = value
            changed[name] = (current, value)
    if changed:
        fit.record["crowds"] = {k: v for k, (_, v) in changed.items()}
        fit.notes.append(
            ", ".join(f"{k} {v} (was {c})" for k, (c, v) in changed.items())
            + f": up to {busiest} objects an image")


def _fit_anchors(spec: ModelSpec, space: list[dict], configs: dict, classes: list[str], train_records,
                 fit: ModelFit) -> None:
    """Reach of the coder's anchors at the default input size, per class; fixed `anchor_scales` extended."""
    coder_shapes = _anchor_shapes(spec, space, configs)
    if coder_shapes is None:
        return
    coder, shapes = coder_shapes
    from zazu.nn.assign import REACH_GOAL, REACH_IOU, reach_share

    size = _default(space, configs, "input_size")
    side = size_text(size)
    box_wh, labels = box_shapes(train_records, size)
    before = _reach_by_class(box_wh, labels, shapes, classes)
    fit.record["anchor_reach"] = {"input_size": size, "before": before}
    searched = {e["name"] for e in space}
    if "anchor_scales" in configs and "anchor_scales" not in searched and hasattr(coder, "fit_anchor_scales"):
        scales = coder.fit_anchor_scales(box_wh)
        if list(scales) != [float(s) for s in configs["anchor_scales"]]:
            fit.notes.append(f"anchor scales {scales} (entry: {configs['anchor_scales']}): the entry's anchors "
                             f"reached {reach_share(box_wh, shapes):.0%} of the boxes at {side} px")
            configs["anchor_scales"] = scales
            coder_shapes = _anchor_shapes(spec, space, configs)
            shapes = coder_shapes[1]
            fit.record["anchor_reach"]["anchor_scales"] = scales
    after = _reach_by_class(box_wh, labels, shapes, classes)
    fit.record["anchor_reach"]["after"] = after
    short = sorted(((share, name) for name, share in after.items() if share < REACH_GOAL))
    if short:
        listed = ", ".join(f"`{name}` {1 - share:.0%}" for share, name in short[:5])
        more = f" and {len(short) - 5} more classes" if len(short) > 5 else ""
        fit.warnings.append(f"{spec.name}: boxes no anchor reaches at IoU >= {REACH_IOU} at {side} px: {listed}{more}"
                            f" (data_fit.json); expect a lower AP there")


def _default(space: list[dict], configs: dict, name: str):
    entry = next((e for e in space if e["name"] == name), None)
    if entry is None:
        return configs.get(name)
    return space_default(entry)


def _anchor_shapes(spec: ModelSpec, space: list[dict], configs: dict):
    """(the coder at the entry's defaults, its anchor shapes [K, 2]) when it has anchors; else None."""
    hp = {**configs, **{e["name"]: _default(space, configs, e["name"]) for e in space}}
    adapter = spec.adapter_class({"name": spec.name}, hp)
    adapter.classes = ["object"]  # the anchors do not depend on the classes
    make_coder = getattr(adapter, "make_coder", None)
    if make_coder is None:
        return None
    try:
        coder = make_coder()
    except (KeyError, TypeError, ValueError):  # a coder needing more than the entry says: no check
        return None
    shapes = getattr(coder, "anchor_shapes", None)
    return (coder, shapes()) if callable(shapes) else None


def _reach_by_class(box_wh, labels, shapes, classes: list[str]) -> dict[str, float]:
    """{class: share of its boxes some anchor shape reaches}."""
    from zazu.nn.assign import reachable

    hit = reachable(box_wh, shapes)
    return {classes[k]: round(float(hit[labels == k].mean()), 4) for k in sorted(set(labels.tolist()))}


def _replaced(spec: ModelSpec, space: list[dict], configs: dict) -> ModelSpec:
    entry = {**spec.entry, "hp_search_space": space, "training_configs": configs}
    return dataclasses.replace(spec, hp_search_space=space, training_configs=configs, entry=entry)
