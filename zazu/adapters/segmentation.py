"""Base adapter for instance segmentation: detection plus per-instance masks.

Masks come in as COCO polygons or RLE (or YOLO segment polygons), are
rasterised at the training resolution and letterboxed with the image (the data
layer), and leave as RLE in original image pixels, scored with pycocotools
(`iouType="segm"`). The box mAP is reported alongside.
"""

from __future__ import annotations

import numpy as np

from zazu.adapters.detection import DetectionAdapter
from zazu.tasks import INSTANCE_SEGMENTATION


class SegmentationAdapter(DetectionAdapter):
    task = INSTANCE_SEGMENTATION
    iou_type = "segm"
    uses_masks = True

    def postprocess(self, outputs, context: dict):
        """Prediction with masks: each grid mask is upsampled, cropped to its box, thresholded
        and mapped back through the letterbox to the original image."""
        from zazu.data.masks import mask_to_rle
        from zazu.metrics.coco import Prediction
        from zazu.nn.boxes import batched_nms

        boxes, scores, labels, grid_masks = self.coder.decode(
            outputs, float(self.hp["score_threshold"]), int(self.hp["max_detections"]))
        keep = batched_nms(boxes, scores, labels, float(self.hp["nms_iou"]),
                           int(self.hp["max_detections"]))
        height, width = self.input_size
        scale, original = context["scale"], (context["height"], context["width"])
        visible = (min(height, round(original[0] * scale)), min(width, round(original[1] * scale)))
        rles = []
        for k in keep:
            mask = _resize(grid_masks[k], (height, width))
            x0, y0, x1, y1 = boxes[k]
            crop = np.zeros_like(mask)
            crop[max(0, int(y0)):max(0, int(np.ceil(y1))), max(0, int(x0)):max(0, int(np.ceil(x1)))] = 1
            binary = (mask * crop >= 0.5).astype(np.uint8)[: visible[0], : visible[1]]
            rles.append(mask_to_rle(_resize_nearest(binary, original)))
        return Prediction(boxes[keep] / scale, scores[keep], labels[keep], rles)

    def score_records(self, predictions, records) -> tuple[dict[str, float], dict]:
        """Mask mAP, mAP50, mAP75 and mask AP per object size, and box mAP and mAP50 (pycocotools); details:
        each class's mask AP, AP50 and objects, and the objects of each size (by mask area)."""
        from zazu.metrics.coco import coco_metrics

        masks, details = coco_metrics(records, predictions, self.classes, "segm")
        boxes, _ = coco_metrics(records, predictions, self.classes, "bbox")
        return {**masks, "val_mAP": boxes["val_mAP"], "val_mAP50": boxes["val_mAP50"]}, details


def _resize(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(mask.astype(np.float32), mode="F").resize((size[1], size[0]), Image.BILINEAR))


def _resize_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(mask * 255).resize((size[1], size[0]), Image.NEAREST)) > 127
