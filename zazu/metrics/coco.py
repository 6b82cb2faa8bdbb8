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


def coco_metrics(records, predictions: list[Prediction], classes: list[str], iou_type: str = "bbox",
                 prefix: str = "val_") -> tuple[dict[str, float], dict[str, float]]:
    """({prefix}mAP (0.5:0.95), mAP50, mAP75}, {class name: AP}). `iou_type` is "bbox" or "segm"
    (then the keys are mask_mAP...). Classes without ground truth get no AP."""
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
    if not results:
        return {f"{prefix}{name}": 0.0, f"{prefix}{name}50": 0.0, f"{prefix}{name}75": 0.0}, {}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        evaluator = _voc_aware_eval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [max(0.0, float(v)) for v in evaluator.stats[:3]]  # -1 means "no ground truth": report 0
    metrics = {f"{prefix}{name}": stats[0], f"{prefix}{name}50": stats[1], f"{prefix}{name}75": stats[2]}
    precision = evaluator.eval["precision"]  # [T, R, K, A, M]
    per_class = {}
    for k, class_name in enumerate(classes):
        p = precision[:, :, k, 0, -1]
        if (p > -1).any():
            per_class[class_name] = float(p[p > -1].mean())
    return metrics, per_class
