"""zazu/nn directly: anchors, box coding, IoU, NMS, the detector coders' targets and decoding, and
prototype mask assembly, against hand-computed values and round trips."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.nn.boxes import anchor_grid, batched_nms, decode, encode, nms


def test_anchor_grid_places_and_sizes_anchors_by_stride_scale_and_ratio():
    anchors = anchor_grid((32, 64), strides=(8, 16), scales=(1.0, 2.0), ratios=(1.0, 4.0))
    assert anchors.shape == ((4 * 8 + 2 * 4) * 4, 4)
    # first cell of stride 8: centre (4, 4); side 4 * 8 * scale; ratio 4 (height / width) halves the width
    np.testing.assert_allclose(anchors[0], [4 - 16, 4 - 16, 4 + 16, 4 + 16])
    np.testing.assert_allclose(anchors[1], [4 - 8, 4 - 32, 4 + 8, 4 + 32])
    np.testing.assert_allclose(anchors[2], [4 - 32, 4 - 32, 4 + 32, 4 + 32])
    # the next cell is one stride to the right (x first: rows of the grid are y)
    np.testing.assert_allclose(anchors[4], [12 - 16, 4 - 16, 12 + 16, 4 + 16])
    # the first anchor of stride 16 comes after all 8 * 4 cells of stride 8
    np.testing.assert_allclose(anchors[4 * 8 * 4], [8 - 32, 8 - 32, 8 + 32, 8 + 32])


def test_box_coding_hand_values_and_round_trip():
    anchors = np.array([[0, 0, 20, 10], [10, 10, 30, 50]], np.float32)
    # the anchor itself codes to zero; a box shifted by half the anchor's width codes to 0.5 / 0.1 = 5
    deltas = encode(np.array([[0, 0, 20, 10], [20, 10, 40, 50]], np.float32), anchors).numpy()
    np.testing.assert_allclose(deltas, [[0, 0, 0, 0], [5, 0, 0, 0]], atol=1e-5)
    boxes = np.array([[3, 4, 17, 9], [12, 5, 40, 70]], np.float32)
    np.testing.assert_allclose(decode(encode(boxes, anchors).numpy(), anchors), boxes, atol=1e-3)


def test_nms_keeps_the_best_of_overlapping_boxes_and_per_class_keeps_other_classes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 1, 10, 11]], np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.8], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]  # 0 and 3 overlap 1 (IoU > 0.5), best first
    labels = np.array([0, 0, 0, 1])
    assert sorted(batched_nms(boxes, scores, labels, 0.5).tolist()) == [1, 2, 3]  # 3 is another class
    assert batched_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)).size == 0


def test_retinanet_targets_round_trip_through_decoding():
    from zazu.nn.retinanet import RetinaNetCoder

    coder = RetinaNetCoder((64, 64), num_classes=3, strides=(8, 16))
    boxes = np.array([[[6, 8, 30, 28], [36, 30, 62, 60], [0, 0, 0, 0]]], np.float32)
    labels = np.array([[2, 0, -1]], np.int32)
    cls, box = coder.encode(boxes, labels)
    cls, box = cls.numpy()[0, :, 0], box.numpy()[0]
    positive = box[:, 4] > 0
    assert positive.any() and set(cls[positive].astype(int)) == {0, 2}
    assert set(np.unique(cls[~positive]).astype(int)) <= {-1, -2}  # background or ignored, never a class
    # a perfect network: the target class scored 1 at positive anchors, the target deltas everywhere
    scores = np.zeros((len(cls), 3), np.float32)
    scores[positive, cls[positive].astype(int)] = 1.0
    decoded, decoded_scores, decoded_labels = coder.decode([scores, box[:, :4]], score_threshold=0.5)
    for truth, label in ((boxes[0, 0], 2), (boxes[0, 1], 0)):
        hits = decoded[decoded_labels == label]
        assert len(hits) and np.abs(hits - truth).max() < 1e-3


def test_centernet_targets_round_trip_through_decoding():
    from zazu.nn.centernet import CenterNetCoder

    coder = CenterNetCoder((64, 96), num_classes=2)
    boxes = np.array([[[10, 6, 30, 22], [50, 20, 90, 60], [14, 10, 34, 26]]], np.float32)
    labels = np.array([[0, 1, 1]], np.int32)  # the third overlaps the first but is another class
    heat, reg = (t.numpy()[0] for t in coder.encode(boxes, labels))
    assert heat.shape == (64 // coder.stride, 96 // coder.stride, 2)
    assert np.isclose(heat, 1.0).sum() == 3  # exactly one peak per object, in its own class channel
    decoded, scores, decoded_labels = coder.decode([heat, reg[..., :4]], score_threshold=0.99)
    order = np.lexsort((decoded[:, 0], decoded_labels))
    np.testing.assert_allclose(decoded[order], boxes[0][[0, 2, 1]], atol=1e-3)
    assert decoded_labels[order].tolist() == [0, 1, 1]


def test_two_objects_centred_in_one_cell_get_one_of_their_boxes_as_target_not_a_sum():
    from zazu.nn.centernet import CenterNetCoder

    coder = CenterNetCoder((64, 64), num_classes=2)
    boxes = np.array([[[10, 6, 30, 22], [12, 8, 29, 21]]], np.float32)  # both centres in cell (5, 3)
    heat, reg = (t.numpy()[0] for t in coder.encode(boxes, np.array([[0, 1]], np.int32)))
    assert reg[..., 4].max() == 1.0  # one target at the cell, weighted once
    decoded, _, _ = coder.decode([heat, reg[..., :4]], score_threshold=0.99)
    for box in decoded:
        assert min(np.abs(box - boxes[0, 0]).max(), np.abs(box - boxes[0, 1]).max()) < 1e-3


def test_prototype_masks_are_assembled_from_the_centre_coefficients():
    from zazu.nn.protomask import ProtoMaskCoder

    coder = ProtoMaskCoder((32, 32), num_classes=1, prototypes=2)
    h, w = coder.grid
    heat = np.zeros((h, w, 1), np.float32)
    heat[2, 5, 0] = 0.9
    reg = np.zeros((h, w, 4), np.float32)
    reg[2, 5] = (2, 2, 0.5, 0.5)
    features = np.zeros((h, w, 4), np.float32)
    features[2, 5, :2] = (1.0, -1.0)  # this instance: + prototype 0 - prototype 1
    features[..., 2] = 5.0 * (np.arange(w) < 4)[None, :]  # prototype 0: the left half
    features[..., 3] = 5.0 * (np.arange(w) >= 4)[None, :]  # prototype 1: the right half
    boxes, scores, labels, masks = coder.decode([heat, reg, features], score_threshold=0.5)
    assert scores.tolist() == pytest.approx([0.9]) and labels.tolist() == [0]
    np.testing.assert_allclose(boxes[0], np.array([4.5, 1.5, 6.5, 3.5]) * coder.stride)
    assert masks.shape == (1, h, w)
    assert (masks[0][:, :4] > 0.99).all() and (masks[0][:, 4:] < 0.01).all()


def test_used_slots_cuts_a_batch_after_the_last_slot_any_image_uses():
    from zazu.nn.boxes import used_slots

    boxes = np.arange(2 * 5 * 4, dtype=np.float32).reshape(2, 5, 4)
    labels = np.array([[0, -1, 1, -1, -1], [2, -1, -1, -1, -1]], np.int32)  # a hole (an augmentation drop) at 1
    masks = np.zeros((2, 4, 4, 5), np.uint8)
    cut_boxes, cut_labels, cut_masks = used_slots(boxes, labels, masks)
    assert np.asarray(cut_labels).tolist() == [[0, -1, 1], [2, -1, -1]]
    np.testing.assert_array_equal(np.asarray(cut_boxes), boxes[:, :3])
    assert cut_masks.shape == (2, 4, 4, 3)
    _, nothing = used_slots(boxes, np.full((2, 5), -1, np.int32))
    assert nothing.shape == (2, 1)  # a batch without objects keeps one (empty) slot: shapes stay non-empty


@pytest.mark.parametrize("family", ["retinanet", "centernet", "protomask"])
def test_a_coders_losses_do_not_depend_on_the_padding_slots_cut_away(family):
    """The pipeline encodes each batch cut after its last used slot (`used_slots`), so M varies:
    the loss a model trains on must be the same as with every padding slot kept."""
    import tensorflow as tf

    from zazu.nn.boxes import used_slots
    from zazu.nn.centernet import CenterNetCoder
    from zazu.nn.protomask import ProtoMaskCoder
    from zazu.nn.retinanet import RetinaNetCoder

    coder = {"retinanet": lambda: RetinaNetCoder((64, 64), num_classes=3, strides=(8, 16)),
             "centernet": lambda: CenterNetCoder((64, 64), num_classes=3),
             "protomask": lambda: ProtoMaskCoder((64, 64), num_classes=3, prototypes=2)}[family]()
    boxes = np.zeros((2, 12, 4), np.float32)
    labels = np.full((2, 12), -1, np.int32)
    boxes[0, :2], labels[0, :2] = [[6, 8, 30, 28], [36, 30, 62, 60]], [2, 0]
    boxes[1, 0], labels[1, 0] = [10, 12, 50, 40], 1
    masks = [np.zeros((2, 64, 64, 12), np.float32)] if family == "protomask" else []
    if masks:
        masks[0][0, 8:28, 6:30, 0] = masks[0][0, 30:60, 36:62, 1] = masks[0][1, 12:40, 10:50, 0] = 1
    padded = coder.encode(boxes, labels, *masks)
    cut = coder.encode(*used_slots(boxes, labels, *masks))
    if family == "protomask":
        assert cut[-1].shape[1] == 2  # its mask targets hold one row a slot: cut to the two used
    anchors = len(getattr(coder, "anchors", ()))
    h, w = coder.grid if family != "retinanet" else (0, 0)
    prediction_shapes = {"retinanet": [(2, anchors, 3), (2, anchors, 4)],
                         "centernet": [(2, h, w, 3), (2, h, w, 4)],
                         "protomask": [(2, h, w, 3), (2, h, w, 4), (2, h, w, 4)]}[family]
    rng = np.random.default_rng(0)
    for loss, full, short, shape in zip(coder.losses(), padded, cut, prediction_shapes):
        if family != "protomask" or full.ndim != 4 or full.shape[1] != 12:
            np.testing.assert_array_equal(np.asarray(full), np.asarray(short))
        prediction = tf.constant(rng.uniform(0.05, 0.95, shape), tf.float32)
        np.testing.assert_allclose(loss(full, prediction).numpy(), loss(short, prediction).numpy(), rtol=1e-6)


def test_giou_of_boxes_worked_by_hand():
    from zazu.nn.boxes import giou

    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 1, 1]], np.float32)
    b = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [3, 0, 4, 1]], np.float32)
    # equal: 1; overlap 1 of union 7 in an enclosing 3x3: 1/7 - 2/9; apart: 0 - (4 - 2) / 4
    np.testing.assert_allclose(giou(a, b).numpy(), [1.0, 1 / 7 - 2 / 9, -0.5], atol=1e-6)


def test_the_giou_box_loss_adds_what_the_overlap_misses():
    from zazu.nn.retinanet import RetinaNetCoder

    huber = RetinaNetCoder((64, 64), 2, strides=(8,), box_loss="huber")
    with_giou = RetinaNetCoder((64, 64), 2, strides=(8,), box_loss="giou")
    anchors = huber.anchors.shape[0]
    y_true = np.zeros((1, anchors, 5), np.float32)
    y_true[0, 0, 4] = 1.0  # one positive anchor, its target the anchor itself
    y_pred = np.zeros((1, anchors, 4), np.float32)
    y_pred[0, 0, 2] = 1.0  # predicted 1.22x wider (log-width delta 0.2 after the variance)
    plain = float(huber.losses()[1](y_true, y_pred)[0])
    both = float(with_giou.losses()[1](y_true, y_pred)[0])
    # huber of a delta of 1.0: 0.5; the boxes' GIoU: the same box 1/1.2214 as wide, enclosed by the wider one
    assert abs(plain - 0.5) < 1e-6 and abs(both - (0.5 + 1 - 1 / np.exp(0.2))) < 1e-5
    with pytest.raises(ValueError, match="Expected box_loss to be one of huber, giou. Received: box_loss='iou'"):
        RetinaNetCoder((64, 64), 2, box_loss="iou")
