"""box_stats: object sizes, counts and crowd overlap from records, checked against hand-computed values."""

import pytest

from zazu.data.box_stats import box_shapes, box_stats
from zazu.data.records import ImageRecord, Instance


def record(path, boxes, width=640, height=480):
    return ImageRecord(path, width=width, height=height,
                       instances=tuple(Instance(label, box) for label, box in boxes))


def test_sizes_per_class_as_pixels_and_share_of_the_longer_side():
    records = [record("a.jpg", [(0, (0, 0, 32, 32)), (0, (100, 100, 132, 132)), (1, (0, 0, 200, 50))]),
               record("b.jpg", [(0, (0, 0, 48, 48))], width=320, height=480)]
    stats = box_stats(records, ["small", "wide"])
    small, wide = stats.classes
    assert (small.name, small.count, small.median_px) == ("small", 3, 32.0)
    assert small.median_share == pytest.approx(32 / 640)  # the 48-px box is 0.1 of its 480-px image
    assert wide.median_px == pytest.approx(100.0)  # sqrt(200 * 50)
    assert stats.smallest_class() is small
    assert (stats.images, stats.max_per_image, stats.mean_per_image) == (2, 3, 2.0)
    assert stats.median_long_side == 560.0  # median of 640 and 480


def test_crowd_overlap_counts_same_class_pairs_only():
    # two class-0 boxes at IoU 1/3 (overlap 50x100 over a union of 150x100), and a class-1 box on top of both
    records = [record("a.jpg", [(0, (0, 0, 100, 100)), (0, (50, 0, 150, 100)), (1, (0, 0, 150, 100))])]
    assert box_stats(records, ["a", "b"]).same_class_overlap_p99 == pytest.approx(1 / 3)


def test_crowd_regions_are_left_out():
    crowd = ImageRecord("a.jpg", width=100, height=100,
                        instances=(Instance(0, (0, 0, 10, 10)), Instance(0, (0, 0, 90, 90), iscrowd=True)))
    stats = box_stats([crowd], ["a"])
    assert stats.classes[0].count == 1 and stats.max_per_image == 1


def test_box_shapes_are_letterboxed_by_the_longer_side():
    shapes, labels = box_shapes([record("a.jpg", [(1, (0, 0, 64, 32))])], 320)
    assert shapes.tolist() == [[32.0, 16.0]] and labels.tolist() == [1]


def test_box_shapes_at_an_input_of_another_shape_follow_the_letterbox_scale():
    # a 640x480 image into [448, 640] (height, width): min(448/480, 640/640) = 0.9333
    shapes, _ = box_shapes([record("a.jpg", [(1, (0, 0, 60, 30))])], [448, 640])
    assert shapes[0].tolist() == pytest.approx([56.0, 28.0])
    # into [384, 512]: min(0.8, 0.8)
    shapes, _ = box_shapes([record("a.jpg", [(1, (0, 0, 60, 30))])], [384, 512])
    assert shapes[0].tolist() == pytest.approx([48.0, 24.0])


def test_the_images_shape_is_measured():
    stats = box_stats([record("a.jpg", [(0, (0, 0, 10, 10))]), record("b.jpg", [(0, (0, 0, 10, 10))])], ["a"])
    assert stats.median_aspect == pytest.approx(0.75) and stats.landscape_share == 1.0
