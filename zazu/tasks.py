"""What Zazu knows per task: its search objective and the metric's direction.

This is the single place where task names are listed; the registry validates
`models.json` against it and the search builds its keras-tuner objective from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str
    objective: str  # the metric `get_metrics()` must return
    direction: str  # "max" or "min"
    floor: float  # the objective's worst value: what a trial over budget reports to keras-tuner
    check_input_size: int  # `zazu zoo check`'s build size: tiny, a multiple of 32 for stride-32 pyramids


# COCO's object sizes (area in original pixels: small < 32², medium < 96², large above): detection and
# segmentation report `<objective>_<size>` besides the objective. They are detail, not a ranking column.
OBJECT_SIZES = ("small", "medium", "large")


def is_size_metric(name: str) -> bool:
    """Whether a metric is one of the per-size APs (`val_mAP_small`, `int8_val_mask_mAP_large`...)."""
    return "AP_" in name and name.rsplit("_", 1)[-1] in OBJECT_SIZES


TASKS: dict[str, Task] = {
    "classification": Task("classification", "val_accuracy", "max", 0.0, check_input_size=32),
    "detection": Task("detection", "val_mAP", "max", 0.0, check_input_size=64),
    "instance_segmentation": Task("instance_segmentation", "val_mask_mAP", "max", 0.0, check_input_size=64),
}


def get_task(name: str) -> Task:
    from zazu.errors import ConfigError

    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown task. Expected one of {', '.join(TASKS)}. Received: task={name!r}"
        ) from None
