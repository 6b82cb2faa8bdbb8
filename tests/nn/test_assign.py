"""Anchor assignment (IoU, the default, and ATSS) and anchor reach (zazu.nn.assign), on hand-placed boxes."""

import numpy as np
import pytest

from zazu.nn.assign import reachable, shape_iou
from zazu.nn.retinanet import RetinaNetCoder, fit_anchor_scales

STRIDES, SCALES, RATIOS = (8, 16, 32, 64), (1.0, 1.26, 1.587), (0.5, 1.0, 2.0)


def encode(coder, boxes, labels):
    import tensorflow as tf

    cls, box = coder.encode(tf.constant([boxes], tf.float32), tf.constant([labels], tf.int32))
    return cls.numpy()[0, :, 0], box.numpy()[0]


@pytest.fixture(scope="module")
def coder():
    return RetinaNetCoder((256, 256), 2, SCALES, RATIOS, strides=STRIDES, assigner="atss")


@pytest.fixture(scope="module")
def iou_coder():
    return RetinaNetCoder((256, 256), 2, SCALES, RATIOS, strides=STRIDES)


def anchor_iou(anchors, box):
    w = np.clip(np.minimum(anchors[:, 2], box[2]) - np.maximum(anchors[:, 0], box[0]), 0, None)
    h = np.clip(np.minimum(anchors[:, 3], box[3]) - np.maximum(anchors[:, 1], box[1]), 0, None)
    inter = w * h
    area = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    return inter / (area + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def test_the_default_rule_is_iou_with_an_ignored_band_and_each_box_its_best_anchor(iou_coder):
    boxes = [[20, 60, 180, 220], [200, 30, 216, 46]]  # 160 px, and 16 px (best anchor IoU 0.25)
    cls, box = encode(iou_coder, boxes, [1, 0])
    large = anchor_iou(iou_coder.anchors, boxes[0])
    small = anchor_iou(iou_coder.anchors, boxes[1])
    assert ((cls == 1) == (large >= 0.5)).all()  # the large box: exactly the anchors at IoU >= 0.5
    assert ((cls == -2) == ((large >= 0.4) & (large < 0.5))).all()  # ignored between 0.4 and 0.5
    assert (cls == 0).sum() >= 1 and (small[cls == 0] == small.max()).all()  # only its best anchors, forced
    assert np.array_equal(box[:, 4] > 0, cls >= 0)


def test_an_unknown_assigner_is_refused():
    with pytest.raises(ValueError, match="Expected assigner to be one of iou, atss. Received: assigner='best'"):
        RetinaNetCoder((64, 64), 1, assigner="best")


def test_a_small_object_gets_about_as_many_positives_as_a_large_one(coder):
    # 16 px against 32-px anchors: the best IoU is 0.25, so a fixed IoU >= 0.5 rule gave it one forced positive
    cls, _ = encode(coder, [[200, 30, 216, 46], [20, 60, 180, 220]], [0, 1])
    small, large = int((cls == 0).sum()), int((cls == 1).sum())
    assert large > 0 and small >= large / 3, (small, large)


def test_positives_sit_inside_their_box_and_carry_its_label(coder):
    boxes = [[200, 30, 216, 46], [20, 60, 180, 220]]
    cls, box = encode(coder, boxes, [0, 1])
    centres = (coder.anchors[:, :2] + coder.anchors[:, 2:]) / 2
    for label, (x0, y0, x1, y1) in enumerate(boxes):
        chosen = centres[cls == label]
        assert ((chosen[:, 0] > x0) & (chosen[:, 0] < x1) & (chosen[:, 1] > y0) & (chosen[:, 1] < y1)).all()
    assert np.array_equal(box[:, 4] > 0, cls >= 0)  # the box loss sees exactly the positives
    assert set(np.unique(cls)) == {-1, 0, 1}  # no anchor is ignored: ATSS has background or positive


def test_padding_and_an_empty_image_give_no_positive(coder):
    cls, box = encode(coder, [[0, 0, 0, 0], [0, 0, 0, 0]], [-1, -1])
    assert (cls == -1).all() and (box[:, 4] == 0).all()


@pytest.mark.parametrize("which", ["coder", "iou_coder"])
def test_an_anchor_two_boxes_want_goes_to_the_one_it_overlaps_most(which, request):
    coder = request.getfixturevalue(which)
    # two same-size boxes offset by 8 px: each positive anchor must be matched to the box it overlaps more
    boxes = np.array([[64, 64, 128, 128], [72, 64, 136, 128]], np.float32)
    cls, box = encode(coder, boxes.tolist(), [0, 1])
    anchors = coder.anchors[cls >= 0]
    overlaps = np.stack([anchor_iou(anchors, b) for b in boxes], 1)
    matched = cls[cls >= 0].astype(int)
    assert (overlaps[np.arange(len(matched)), matched] >= overlaps.max(1) - 1e-6).all()


def test_reach_is_the_best_centred_iou_against_the_anchor_shapes():
    assert shape_iou(np.array([[16.0, 16.0]]), np.array([[32.0, 32.0]]))[0, 0] == pytest.approx(0.25)
    assert reachable(np.array([[16.0, 16.0], [30.0, 30.0]]), np.array([[32.0, 32.0]])).tolist() == [False, True]


def test_anchor_scales_grow_down_the_ladder_until_the_small_boxes_are_reached():
    boxes = np.array([[20.0, 20.0]] * 50 + [[200.0, 200.0]] * 50, np.float32)
    # 20 px against 32 px is IoU 0.39: one scale below (32 / 1.26 = 25 px, IoU 0.63) reaches them
    assert fit_anchor_scales(boxes, STRIDES, SCALES, RATIOS) == [0.794, 1.0, 1.26, 1.587]
    assert fit_anchor_scales(boxes[50:], STRIDES, SCALES, RATIOS) == list(SCALES)  # reached already: unchanged
