"""Confusion matrix and per-class precision / recall on a small example worked out by hand."""

from __future__ import annotations

import pytest

from zazu.report.confusion import class_scores, confusion_matrix, matrix_for, variants


def test_confusion_matrix_and_class_scores_on_a_known_example():
    # true:      0  0  1  1  2  2      (class 3 never appears and is never predicted)
    # predicted: 0  1  1  1  2  0
    matrix = confusion_matrix([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 4)
    assert matrix == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]

    scores = class_scores(matrix, ["a", "b", "c", "d"])
    assert [(s.support, s.predicted) for s in scores] == [(2, 2), (2, 3), (2, 1), (0, 0)]
    assert scores[0].precision == pytest.approx(1 / 2) and scores[0].recall == pytest.approx(1 / 2)
    assert scores[1].precision == pytest.approx(2 / 3) and scores[1].recall == pytest.approx(1.0)
    assert scores[2].precision == pytest.approx(1.0) and scores[2].recall == pytest.approx(1 / 2)
    assert scores[3].precision is None and scores[3].recall is None  # undefined, not 0


def test_out_of_range_class_index_is_an_error_naming_the_values():
    with pytest.raises(ValueError, match="label=0, predicted=5"):
        confusion_matrix([0], [5], 3)


def test_variants_are_those_that_predicted_every_record():
    data = {"classes": ["a", "b"], "records": [
        {"path": "x.png", "label": 0, "predicted": {"keras": 0, "int8": 1, "float16": 0}},
        {"path": "y.png", "label": 1, "predicted": {"keras": 1, "int8": 1}},
    ]}
    assert variants(data) == ["keras", "int8"]  # float16 is missing for y.png
    assert matrix_for(data, "int8") == [[0, 1], [0, 1]]
