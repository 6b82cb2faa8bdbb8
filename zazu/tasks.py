"""What Zazu knows per task: its search objective and the metric's direction, the default job's time budget,
the size `zazu zoo check` builds at.

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
    # minutes of trials in the default job (`time_budget: auto`, zazu.config.auto_time_budget), chosen so that
    # on 2 cores the default job, export and report included, stays under 5 minutes for classification (head
    # trials on cached features take seconds; exporting an EfficientNet-Lite in every format about a minute
    # and a half) and under 10 for detection and segmentation at inputs up to 320 px (an epoch of a pretrained
    # detector at 256-384 px takes tens of seconds, exporting and scoring it in every format two to three minutes)
    auto_time_budget_min: float
    # `augmentation.mosaic: auto`: measured on the dense set (bench/dense_detection.py, 18 epochs at 448x576),
    # mosaics on every detection image gave mAP 0.376 against 0.363 and the large class 0.48 against 0.44;
    # the segmenter, its whole backbone learning, overfit the dense set's COCO variant without them (validation
    # loss rising from its 9th epoch, early-stopped at 17) and gained mask mAP 0.142 -> 0.221 with them
    auto_mosaic: float = 0.0
    # what int8 may cost the objective before a trial is flagged (`int8_over_bar` in trial.json): a point of
    # accuracy, two of mAP (issue 29's bars; Google's EfficientNet-Lite0 loses 0.7 point of top-1)
    int8_drop_bar: float = 0.02
    # objects, fitted from the training boxes (zazu.search.data_fit): instance caps, anchors, epochs
    fits_boxes: bool = False
    # the input size too: segmentation keeps its entries' sizes (protonet_lite at 512 px, stride-4 masks, on
    # the dense COCO set trained 7 epochs in its budget for mask mAP50 0.249 against 0.271 at 192 px)
    fits_input_size: bool = False
    # or only its shape: the entry's largest size as the longer side, in the images' shape when they share one
    # (protonet_lite on the dense COCO set, 15 epochs: 192x256 mask mAP50 0.393 against 0.321 at 192x192)
    shapes_input: bool = False
    max_instances_cap: int = 0  # the most training targets data_fit gives an image (masks cost H x W bytes a slot)


# COCO's object sizes (area in original pixels: small < 32², medium < 96², large above): detection and
# segmentation report `<objective>_<size>` besides the objective. They are detail, not a ranking column.
OBJECT_SIZES = ("small", "medium", "large")


def is_size_metric(name: str) -> bool:
    """Whether a metric is one of the per-size APs (`val_mAP_small`, `int8_val_mask_mAP_large`...)."""
    return "AP_" in name and name.rsplit("_", 1)[-1] in OBJECT_SIZES


CLASSIFICATION, DETECTION, INSTANCE_SEGMENTATION = "classification", "detection", "instance_segmentation"

TASKS: dict[str, Task] = {
    CLASSIFICATION: Task(CLASSIFICATION, "val_accuracy", "max", 0.0, check_input_size=32, auto_time_budget_min=2,
                         int8_drop_bar=0.01),
    DETECTION: Task(DETECTION, "val_mAP", "max", 0.0, check_input_size=64, auto_time_budget_min=6, auto_mosaic=1.0,
                    fits_boxes=True, fits_input_size=True, max_instances_cap=1000),
    INSTANCE_SEGMENTATION: Task(INSTANCE_SEGMENTATION, "val_mask_mAP", "max", 0.0, check_input_size=64,
                                auto_time_budget_min=6, auto_mosaic=1.0, fits_boxes=True, shapes_input=True,
                                max_instances_cap=100),
}


def get_task(name: str) -> Task:
    from zazu.errors import ConfigError

    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown task. Expected one of {', '.join(TASKS)}. Received: task={name!r}"
        ) from None
