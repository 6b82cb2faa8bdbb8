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
    metrics, details = coco_metrics([_record((10, 10, 50, 50))], [_pred([(10, 10, 50, 50)], [0])], CLASSES)
    assert metrics["val_mAP"] == pytest.approx(1.0)
    assert metrics["val_mAP50"] == pytest.approx(1.0)
    assert details["per_class_AP"] == {"cat": {"AP": pytest.approx(1.0), "AP50": pytest.approx(1.0), "instances": 1}}


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
    empty, details = coco_metrics(records, [_pred(np.zeros((0, 4)), [])], CLASSES)
    assert empty["val_mAP"] == 0.0
    # no detection at all: the class with objects scores 0 (as a missed class does), the class without none
    assert details["per_class_AP"] == {"cat": {"AP": 0.0, "AP50": 0.0, "instances": 1}}
    assert empty["val_mAP_medium"] == 0.0 and "val_mAP_small" not in empty  # the 40x40 box is medium


def test_no_ground_truth_at_all_scores_zero_without_size_keys():
    records = [ImageRecord("x.png", width=100, height=100)]
    for prediction in (_pred(np.zeros((0, 4)), []), _pred([(10, 10, 50, 50)], [0])):
        metrics, details = coco_metrics(records, [prediction], CLASSES)
        assert metrics == {"val_mAP": 0.0, "val_mAP50": 0.0, "val_mAP75": 0.0}
        assert details["per_class_AP"] == {}
        assert {size: v["instances"] for size, v in details["AP_by_size"].items()} == \
            {"small": 0, "medium": 0, "large": 0}


def test_masks_are_scored_with_segm():
    from zazu.data.masks import mask_to_rle

    square = (20, 20, 60, 20, 60, 60, 20, 60)
    record = ImageRecord("x.png", width=100, height=100,
                         instances=(Instance(label=0, box=(20, 20, 60, 60), polygons=(square,)),))
    mask = np.zeros((100, 100), np.uint8)
    mask[20:60, 20:60] = 1
    perfect = Prediction(np.array([[20, 20, 60, 60]], np.float32), np.array([0.9]), np.array([0]), [mask_to_rle(mask)])
    metrics, details = coco_metrics([record], [perfect], CLASSES, iou_type="segm")
    assert metrics["val_mask_mAP"] == pytest.approx(1.0, abs=0.02)
    # sized by the 40x40 mask's area: medium, the only size key
    assert {k for k in metrics if k.endswith(("_small", "_medium", "_large"))} == {"val_mask_mAP_medium"}
    assert details["per_class_AP"]["cat"]["AP50"] == pytest.approx(1.0)
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
    metrics, details = coco_metrics(records, [_pred([(10, 10, 50, 50)], [0])], CLASSES)
    assert metrics["val_mAP50"] == pytest.approx(1.0)
    assert details["per_class_AP"] == {"cat": {"AP": pytest.approx(1.0), "AP50": pytest.approx(1.0), "instances": 1}}
    assert details["AP_by_size"]["medium"]["instances"] == 1  # the difficult 30x30 box is not counted either


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


# -- by object size and per class ------------------------------------------------------------------
def _big_record(*boxes, labels=None, difficult=()):
    labels = labels or [0] * len(boxes)
    return ImageRecord("x.png", width=300, height=300, instances=tuple(
        Instance(label=l, box=b, difficult=k in difficult) for k, (b, l) in enumerate(zip(boxes, labels))))


LARGE, SMALL = (0, 0, 120, 120), (200, 200, 220, 220)  # areas 14400 (> 96²) and 400 (< 32²)


def test_large_objects_found_and_small_ones_missed_score_large_one_and_small_zero():
    metrics, details = coco_metrics([_big_record(LARGE, SMALL)], [_pred([LARGE], [0])], CLASSES)
    assert metrics["val_mAP_large"] == pytest.approx(1.0)
    assert metrics["val_mAP_small"] == 0.0
    # no medium object: pycocotools' -1 is not a score, so there is no medium key (not a 0)
    assert "val_mAP_medium" not in metrics
    assert details["AP_by_size"] == {
        "small": {"instances": 1, "area": [0, 1024], "AP": 0.0},
        "medium": {"instances": 0, "area": [1024, 9216]},
        "large": {"instances": 1, "area": [9216, None], "AP": pytest.approx(1.0)},
    }
    # over all sizes one of the two objects is found: 101-point precision 1.0 up to recall 0.5
    assert metrics["val_mAP"] == pytest.approx(51 / 101, abs=1e-6)


def test_small_objects_found_and_large_ones_missed_score_the_other_way_round():
    metrics, _ = coco_metrics([_big_record(LARGE, SMALL)], [_pred([SMALL], [0])], CLASSES)
    assert metrics["val_mAP_small"] == pytest.approx(1.0)
    assert metrics["val_mAP_large"] == 0.0


def test_only_medium_objects_give_only_a_medium_key():
    metrics, details = coco_metrics([_record((10, 10, 50, 50))], [_pred([(10, 10, 50, 50)], [0])], CLASSES)
    assert {k for k in metrics if k.rsplit("_", 1)[-1] in ("small", "medium", "large")} == {"val_mAP_medium"}
    assert "AP" not in details["AP_by_size"]["small"] and "AP" not in details["AP_by_size"]["large"]


def test_per_class_ap50_differs_from_ap_when_a_box_is_offset_to_iou_two_thirds():
    # cat: shifted 8 px (IoU 0.667: a hit at 0.50..0.65 only) -> AP 0.4, AP50 1.0; dog: exact -> both 1.0
    records = [_record((10, 10, 50, 50), (55, 55, 95, 95), labels=[0, 1])]
    prediction = _pred([(18, 10, 58, 50), (55, 55, 95, 95)], [0, 1])
    metrics, details = coco_metrics(records, [prediction], CLASSES)
    assert details["per_class_AP"] == {
        "cat": {"AP": pytest.approx(0.4), "AP50": pytest.approx(1.0), "instances": 1},
        "dog": {"AP": pytest.approx(1.0), "AP50": pytest.approx(1.0), "instances": 1},
    }
    assert metrics["val_mAP"] == pytest.approx(0.7)  # the mean of the classes' AP


def test_instances_count_the_scored_objects_per_class_and_per_size():
    records = [_big_record(LARGE, SMALL, (130, 130, 180, 180), (10, 200, 30, 220), labels=[0, 0, 1, 1],
                           difficult=(3,)),
               _big_record((0, 0, 20, 20), labels=[1])]
    _, details = coco_metrics(records, [_pred([LARGE], [0]), _pred([], [])], CLASSES)
    assert {c: v["instances"] for c, v in details["per_class_AP"].items()} == {"cat": 2, "dog": 2}
    assert {s: v["instances"] for s, v in details["AP_by_size"].items()} == {"small": 2, "medium": 1, "large": 1}


def test_size_areas_are_pycocotools_own():
    from pycocotools.cocoeval import Params

    from zazu.metrics.coco import SIZE_AREAS

    params = Params(iouType="bbox")
    for size, (low, high) in SIZE_AREAS.items():
        expected = params.areaRng[params.areaRngLbl.index(size)]
        assert low == expected[0] and (high == expected[1] or (high is None and expected[1] >= 1e10))
