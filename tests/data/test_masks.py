"""Instance masks: polygons and RLE rasterised by pycocotools, letterboxing and box-only instances.

pycocotools treats pixel (row r, column c) as the unit square [c, c+1) x [r, r+1) and fills it when the
polygon covers it; so the square with corners (2, 2) and (6, 6) fills exactly rows 2-5 and columns 2-5.
"""

from __future__ import annotations

import numpy as np
import pytest

from zazu.data.masks import instance_mask, letterbox_mask, mask_to_rle, polygons_to_mask, rle_to_mask
from zazu.data.records import Instance

SQUARE = [2, 2, 6, 2, 6, 6, 2, 6]


def square_mask(size: int, start: int, stop: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[start:stop, start:stop] = 1
    return mask


def test_square_polygon_fills_exactly_the_pixels_it_covers():
    mask = polygons_to_mask([SQUARE], 10, 10)
    assert mask.dtype == np.uint8
    assert mask.shape == (10, 10)
    assert np.array_equal(mask, square_mask(10, 2, 6))


def test_polygon_mask_is_height_by_width():
    mask = polygons_to_mask([[1, 1, 8, 1, 8, 3, 1, 3]], 5, 12)  # a wide rectangle in a wide image
    expected = np.zeros((5, 12), np.uint8)
    expected[1:3, 1:8] = 1
    assert np.array_equal(mask, expected)


def test_scale_2_doubles_the_mask_extent():
    mask = polygons_to_mask([SQUARE], 20, 20, scale=2)
    assert np.array_equal(mask, square_mask(20, 4, 12))
    assert mask.sum() == 4 * polygons_to_mask([SQUARE], 10, 10).sum()


def test_several_polygons_are_merged():
    second = [7, 7, 9, 7, 9, 9, 7, 9]
    mask = polygons_to_mask([SQUARE, second], 10, 10)
    expected = square_mask(10, 2, 6)
    expected[7:9, 7:9] = 1
    assert np.array_equal(mask, expected)


def test_degenerate_polygons_give_an_empty_mask():
    mask = polygons_to_mask([[1, 1, 5, 5]], 8, 8)
    assert mask.shape == (8, 8) and mask.dtype == np.uint8
    assert mask.sum() == 0


def test_triangle_fills_interior_and_not_far_outside():
    mask = polygons_to_mask([[0, 0, 10, 0, 0, 10]], 10, 10)  # right triangle, area 50
    assert mask[0:3, 0:3].all()
    assert mask[7:, 7:].sum() == 0
    assert abs(int(mask.sum()) - 50) <= 10


def test_rle_round_trips_a_random_mask():
    mask = (np.random.default_rng(0).random((13, 7)) > 0.5).astype(np.uint8)
    rle = mask_to_rle(mask)
    assert rle["size"] == [13, 7]
    assert isinstance(rle["counts"], str)  # JSON-friendly
    decoded = rle_to_mask(rle)
    assert decoded.dtype == np.uint8
    assert np.array_equal(decoded, mask)


def test_mask_to_rle_accepts_bool_masks():
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True
    assert np.array_equal(rle_to_mask(mask_to_rle(mask)), mask.astype(np.uint8))


def test_uncompressed_rle_counts_are_column_major():
    # 3x3 mask:        column 0: 0 1 1   column 1: 0 0 0   column 2: 1 1 1
    #   0 0 1          read down the columns: 0 | 1 1 | 0 0 0 | 1 1 1
    #   1 0 1          counts alternate zeros and ones, starting with zeros:
    #   1 0 1          [1, 2, 3, 3]
    expected = np.array([[0, 0, 1], [1, 0, 1], [1, 0, 1]], np.uint8)
    decoded = rle_to_mask({"size": [3, 3], "counts": [1, 2, 3, 3]})
    assert np.array_equal(decoded, expected)


def test_uncompressed_rle_starting_with_foreground_has_a_zero_first_count():
    decoded = rle_to_mask({"size": [2, 3], "counts": [0, 2, 4]})  # column 0 set, the rest empty
    assert np.array_equal(decoded, np.array([[1, 0, 0], [1, 0, 0]], np.uint8))


def test_letterbox_mask_pads_bottom_and_right_with_zeros():
    mask = np.zeros((4, 6), np.uint8)
    mask[0, 0] = 1
    mask[1:3, 2:5] = 1
    out = letterbox_mask(mask, 1.0, 8, 10)
    assert out.shape == (8, 10)
    assert np.array_equal(out[:4, :6], mask)  # top-left keeps the content
    assert out[4:].sum() == 0 and out[:, 6:].sum() == 0


def test_letterbox_mask_scales_with_nearest_neighbour():
    mask = np.zeros((4, 6), np.uint8)
    mask[0:2, 0:3] = 1
    out = letterbox_mask(mask, 2.0, 10, 12)
    expected = np.zeros((10, 12), np.uint8)
    expected[0:4, 0:6] = 1
    assert np.array_equal(out, expected)


def test_letterbox_mask_crops_what_does_not_fit():
    mask = np.ones((4, 4), np.uint8)
    out = letterbox_mask(mask, 1.0, 3, 2)
    assert out.shape == (3, 2)
    assert out.all()


def test_box_only_instance_fills_the_scaled_box():
    inst = Instance(label=0, box=(2.0, 1.0, 6.0, 4.0))
    mask = instance_mask(inst, orig_h=10, orig_w=10, scale=2.0, height=16, width=16)
    expected = np.zeros((16, 16), np.uint8)
    expected[2:8, 4:12] = 1  # rows y0*2..y1*2, columns x0*2..x1*2
    assert np.array_equal(mask, expected)


def test_box_only_instance_is_clipped_to_the_canvas():
    inst = Instance(label=0, box=(5.0, 5.0, 20.0, 20.0))
    mask = instance_mask(inst, orig_h=10, orig_w=10, scale=1.0, height=8, width=8)
    assert mask.shape == (8, 8)
    assert mask[5:, 5:].all() and mask.sum() == 9


def test_polygon_instance_uses_its_polygon_not_its_box():
    inst = Instance(label=0, box=(0.0, 0.0, 10.0, 10.0), polygons=(tuple(float(v) for v in SQUARE),))
    mask = instance_mask(inst, orig_h=10, orig_w=10, scale=2.0, height=24, width=24)
    assert np.array_equal(mask, square_mask(24, 4, 12))


def test_rle_instance_is_letterboxed():
    full = np.zeros((6, 8), np.uint8)
    full[1:3, 2:6] = 1
    inst = Instance(label=0, box=(2.0, 1.0, 6.0, 3.0), rle=mask_to_rle(full), iscrowd=True)
    mask = instance_mask(inst, orig_h=6, orig_w=8, scale=0.5, height=4, width=6)
    expected = np.zeros((4, 6), np.uint8)
    # nearest neighbour at half size samples source rows 1, 3, 5 and columns 1, 3, 5, 7:
    # only source row 1 and columns 3, 5 fall inside the object
    expected[0, 1:3] = 1
    assert mask.shape == (4, 6)
    assert mask[3].sum() == 0 and mask[:, 4:].sum() == 0  # padding
    assert mask.sum() == pytest.approx(full.sum() / 4, abs=2)
    assert np.array_equal(mask, expected)
