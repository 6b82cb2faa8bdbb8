"""The COCO mAP code against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.data.records import ImageRecord, Instance
from zazu.metrics.coco import Prediction, coco_metrics

CLASSES = ["cat", "dog"]


def _record(*boxes, labels=None):
    labels = labels or [0] * len(boxes)
    return ImageRecord("x.png", width=100, height=100,
                       instances=tuple(Instance(label=l, box=b) for b, l in zip(boxes, labels)))


def _pred(boxes, labels, scores=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Prediction(boxes, np.asarray(scores or [0.9] * len(boxes), np.float32), np.asarray(labels))


def test_one_perfect_prediction_scores_one():
    metrics, per_class = coco_metrics([_record((10, 10, 50, 50))], [_pred([(10, 10, 50, 50)], [0])], CLASSES)
    assert metrics["val_mAP"] == pytest.approx(1.0)
    assert metrics["val_mAP50"] == pytest.approx(1.0)
    assert per_class == {"cat": pytest.approx(1.0)}


def test_shifted_box_scores_by_its_iou():
    # gt 40x40 at (10, 10); prediction shifted 8 px right: IoU = 32*40 / (2*1600 - 32*40) = 0.6667
    metrics, _ = coco_metrics([_record((10, 10, 50, 50))], [_pred([(18, 10, 58, 50)], [0])], CLASSES)
    # a true positive at IoU thresholds 0.50, 0.55, 0.60, 0.65 (4 of the 10): AP 1.0 there, 0 above
    assert metrics["val_mAP50"] == pytest.approx(1.0)
    assert metrics["val_mAP75"] == pytest.approx(0.0)
    assert metrics["val_mAP"] == pytest.approx(0.4)


def test_a_missed_object_lowers_recall_and_ap():
    records = [_record((10, 10, 50, 50), (60, 60, 90, 90))]
    metrics, _ = coco_metrics(records, [_pred([(10, 10, 50, 50)], [0])], CLASSES)
    # recall stops at 0.5: 101-point interpolated precision is 1.0 up to recall 0.5 and 0 after -> 51/101
    assert metrics["val_mAP50"] == pytest.approx(51 / 101, abs=1e-6)


def test_wrong_class_is_a_false_positive_and_empty_predictions_score_zero():
    records = [_record((10, 10, 50, 50))]
    wrong, _ = coco_metrics(records, [_pred([(10, 10, 50, 50)], [1])], CLASSES)
    assert wrong["val_mAP50"] == 0.0
    empty, per_class = coco_metrics(records, [_pred(np.zeros((0, 4)), [])], CLASSES)
    assert empty["val_mAP"] == 0.0 and per_class == {}


def test_masks_are_scored_with_segm():
    from zazu.data.masks import mask_to_rle

    square = (20, 20, 60, 20, 60, 60, 20, 60)
    record = ImageRecord("x.png", width=100, height=100,
                         instances=(Instance(label=0, box=(20, 20, 60, 60), polygons=(square,)),))
    mask = np.zeros((100, 100), np.uint8)
    mask[20:60, 20:60] = 1
    perfect = Prediction(np.array([[20, 20, 60, 60]], np.float32), np.array([0.9]), np.array([0]), [mask_to_rle(mask)])
    metrics, _ = coco_metrics([record], [perfect], CLASSES, iou_type="segm")
    assert metrics["val_mask_mAP"] == pytest.approx(1.0, abs=0.02)
    empty = Prediction(np.array([[20, 20, 60, 60]], np.float32), np.array([0.9]), np.array([0]),
                       [mask_to_rle(np.zeros((100, 100), np.uint8))])
    metrics, _ = coco_metrics([record], [empty], CLASSES, iou_type="segm")
    assert metrics["val_mask_mAP"] == 0.0


def test_a_detection_on_a_crowd_region_is_neither_a_hit_nor_a_false_positive():
    from pycocotools import mask as mask_utils

    crowd_mask = np.zeros((100, 100), np.uint8)
    crowd_mask[60:90, 60:90] = 1
    rle = mask_utils.encode(np.asfortranarray(crowd_mask))
    uncompressed = {"size": [100, 100], "counts": [int(c) for c in _uncompressed_counts(crowd_mask)]}
    record = ImageRecord("x.png", width=100, height=100, instances=(
        Instance(label=0, box=(10, 10, 50, 50), polygons=((10, 10, 50, 10, 50, 50, 10, 50),)),
        Instance(label=0, box=(60, 60, 90, 90), rle=uncompressed, iscrowd=True),
    ))
    assert rle["size"] == [100, 100]
    preds = _pred([(10, 10, 50, 50), (62, 62, 88, 88)], [0, 0], scores=[0.9, 0.95])
    box_metrics, _ = coco_metrics([record], [preds], CLASSES)
    assert box_metrics["val_mAP50"] == pytest.approx(1.0)  # the crowd hit is ignored, not a false positive


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed RLE: run lengths in column-major order, starting with zeros."""
    flat = mask.flatten(order="F")
    counts, current, run = [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return counts


def _record_with_difficult(box, difficult_box):
    return ImageRecord("x.png", width=100, height=100,
                       instances=(Instance(label=0, box=box), Instance(label=0, box=difficult_box, difficult=True)))


def test_an_undetected_difficult_object_is_not_a_miss():
    # pycocotools alone would score this 51/101 (the difficult box counted as a missed object)
    records = [_record_with_difficult((10, 10, 50, 50), (60, 60, 90, 90))]
    metrics, per_class = coco_metrics(records, [_pred([(10, 10, 50, 50)], [0])], CLASSES)
    assert metrics["val_mAP50"] == pytest.approx(1.0)
    assert per_class == {"cat": pytest.approx(1.0)}


def test_a_detected_difficult_object_is_not_a_false_positive():
    # the higher-scored detection is on the difficult box: counted, it would be a false positive first
    records = [_record_with_difficult((10, 10, 50, 50), (60, 60, 90, 90))]
    prediction = _pred([(60, 60, 90, 90), (10, 10, 50, 50)], [0, 0], scores=[0.95, 0.9])
    metrics, _ = coco_metrics(records, [prediction], CLASSES)
    assert metrics["val_mAP50"] == pytest.approx(1.0)


def test_a_detection_far_from_a_difficult_object_is_still_a_false_positive():
    records = [_record_with_difficult((10, 10, 50, 50), (60, 60, 90, 90))]
    prediction = _pred([(0, 60, 30, 90), (10, 10, 50, 50)], [0, 0], scores=[0.95, 0.9])
    metrics, _ = coco_metrics(records, [prediction], CLASSES)
    # precision 1/2 at the only recall point (1.0): AP 0.5 at every threshold
    assert metrics["val_mAP50"] == pytest.approx(0.5)
