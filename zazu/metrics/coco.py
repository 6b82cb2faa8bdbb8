"""COCO detection and mask metrics with pycocotools, in original image coordinates.

Ground truth comes from the dataset records; predictions are `Prediction`s
already mapped back to original pixels. Crowd regions (`iscrowd`) and VOC
`difficult` objects are both ignored: neither a miss when undetected nor a false
positive when detected. pycocotools' `COCOeval._prepare` overwrites every ground
truth's `ignore` with its `iscrowd`, so difficult objects carry their own field and
`_VocAwareEval` puts them back after it. (`ignore` is the only ground-truth field it
overwrites; `loadRes` recomputes detections' `area` from their box or mask, which
is what we want.)
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Prediction:
    boxes: np.ndarray  # [K, 4] xyxy, original pixels
    scores: np.ndarray  # [K]
    labels: np.ndarray  # [K] class indexes
    masks: list = field(default_factory=list)  # K compressed RLEs (segmentation)


def _gt_coco(records, classes, with_masks: bool):
    from pycocotools.coco import COCO

    from zazu.data.masks import mask_to_rle, polygons_to_mask, rle_to_mask

    images, annotations = [], []
    for image_id, record in enumerate(records, 1):
        images.append({"id": image_id, "width": record.width, "height": record.height})
        for inst in record.instances:
            x0, y0, x1, y1 = inst.box
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": inst.label + 1,
                   "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                   "iscrowd": int(inst.iscrowd), "difficult": int(inst.difficult)}
            if with_masks:
                if inst.rle is not None:
                    mask = rle_to_mask(inst.rle)
                elif inst.polygons:
                    mask = polygons_to_mask(inst.polygons, record.height, record.width)
                else:
                    mask = np.zeros((record.height, record.width), np.uint8)
                    mask[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = 1
                ann["segmentation"] = mask_to_rle(mask)
                ann["area"] = float(mask.sum())
            annotations.append(ann)
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations,
                  "categories": [{"id": i + 1, "name": n} for i, n in enumerate(classes)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def _voc_aware_eval(gt, dt, iou_type):
    from pycocotools.cocoeval import COCOeval

    class _VocAwareEval(COCOeval):
        def _prepare(self):
            super()._prepare()
            # Matched with the usual IoU (not the crowd one), then neither counted nor missed.
            for anns in self._gts.values():
                for ann in anns:
                    ann["ignore"] = int(ann["ignore"] or ann.get("difficult", 0))

    return _VocAwareEval(gt, dt, iou_type)


# pycocotools' area ranges (COCOeval Params.areaRng), in original pixels²; None: no upper bound.
SIZE_AREAS = {"small": (0, 32 ** 2), "medium": (32 ** 2, 96 ** 2), "large": (96 ** 2, None)}


def coco_metrics(records, predictions: list[Prediction], classes: list[str], iou_type: str = "bbox",
                 prefix: str = "val_") -> tuple[dict[str, float], dict[str, dict]]:
    """COCO AP of `predictions` against `records`: (metrics, details).

    metrics: `{prefix}mAP` (IoU 0.5:0.95), `mAP50`, `mAP75` (0.0 when there is no ground truth at all), and
    `mAP_small`, `mAP_medium`, `mAP_large` (COCO's sizes, `SIZE_AREAS`) only for the sizes that have ground
    truth: pycocotools answers -1 for a size without any, which is not a score of 0, so that key is left out.
    `iou_type` "segm" scores masks (then the keys are `mask_mAP`...; sizes by mask area).

    details (JSON-ready):
      "per_class_AP": {class: {"AP": AP 0.5:0.95, "AP50": AP at IoU 0.5, "instances": objects}}, for the
          classes with ground truth only;
      "AP_by_size": {size: {"instances": objects, "area": [low, high or None], "AP": only with objects}}.
    Objects are those scored: crowd regions and VOC difficult objects are not counted."""
    from zazu.tasks import OBJECT_SIZES

    with_masks = iou_type == "segm"
    gt = _gt_coco(records, classes, with_masks)
    results = []
    for image_id, pred in enumerate(predictions, 1):
        for k in range(len(pred.scores)):
            x0, y0, x1, y1 = (float(v) for v in pred.boxes[k])
            result = {"image_id": image_id, "category_id": int(pred.labels[k]) + 1,
                      "bbox": [x0, y0, x1 - x0, y1 - y0], "score": float(pred.scores[k])}
            if with_masks:
                result["segmentation"] = pred.masks[k]
            results.append(result)
    name = "mask_mAP" if with_masks else "mAP"
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results) if results else _no_detections(gt)
        evaluator = _voc_aware_eval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [float(v) for v in evaluator.stats]
    metrics = {f"{prefix}{name}": max(0.0, stats[0]), f"{prefix}{name}50": max(0.0, stats[1]),
               f"{prefix}{name}75": max(0.0, stats[2])}
    counts = _scored_objects(evaluator)  # {(category index, area index): objects}
    by_size = {}
    for a, size in enumerate(OBJECT_SIZES, 1):  # areaRng index 0 is "all"
        low, high = SIZE_AREAS[size]
        by_size[size] = {"instances": sum(n for (_k, i), n in counts.items() if i == a), "area": [low, high]}
        if stats[2 + a] > -1:
            metrics[f"{prefix}{name}_{size}"] = stats[2 + a]
            by_size[size]["AP"] = stats[2 + a]
    precision = evaluator.eval["precision"]  # [T, R, K, A, M]
    per_class = {}
    for k, class_name in enumerate(classes):
        p = precision[:, :, k, 0, -1]
        if (p > -1).any():
            p50 = precision[0, :, k, 0, -1]
            per_class[class_name] = {"AP": float(p[p > -1].mean()), "AP50": float(p50[p50 > -1].mean()),
                                     "instances": counts.get((k, 0), 0)}
    return metrics, {"per_class_AP": per_class, "AP_by_size": by_size}


def _no_detections(gt):
    """An empty result set over gt's images (pycocotools' loadRes cannot take an empty list)."""
    from pycocotools.coco import COCO

    dt = COCO()
    dt.dataset = {"images": list(gt.dataset["images"]), "annotations": [],
                  "categories": list(gt.dataset["categories"])}
    dt.createIndex()
    return dt


def _scored_objects(evaluator) -> dict[tuple[int, int], int]:
    """{(category index, area range index): ground-truth objects scored (not ignored)}, read from the
    evaluator's own per-image matching, so the counts are exactly those its AP divides by."""
    params = evaluator.params
    counts: dict[tuple[int, int], int] = {}
    per_category = len(params.areaRng) * len(params.imgIds)
    for i, entry in enumerate(evaluator.evalImgs):  # ordered category, area range, image
        if entry is not None:
            key = (i // per_category, i // len(params.imgIds) % len(params.areaRng))
            counts[key] = counts.get(key, 0) + int((~entry["gtIgnore"].astype(bool)).sum())
    return counts
