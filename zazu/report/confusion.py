"""Confusion matrix and per-class precision / recall from `export/val_predictions.json`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClassScore:
    name: str
    support: int          # validation images of this class
    predicted: int        # images predicted as this class
    precision: float | None  # None when nothing was predicted as this class
    recall: float | None     # None when the class has no validation image


def confusion_matrix(labels: list[int], predicted: list[int], n_classes: int) -> list[list[int]]:
    """matrix[true][predicted] counts. Labels outside [0, n_classes) are an error of the input file."""
    matrix = [[0] * n_classes for _ in range(n_classes)]
    for true, pred in zip(labels, predicted, strict=True):
        if not (0 <= true < n_classes and 0 <= pred < n_classes):
            raise ValueError(f"class index out of range [0, {n_classes}). Received: label={true}, predicted={pred}")
        matrix[true][pred] += 1
    return matrix


def class_scores(matrix: list[list[int]], classes: list[str]) -> list[ClassScore]:
    scores = []
    for k, name in enumerate(classes):
        correct = matrix[k][k]
        support = sum(matrix[k])
        predicted = sum(row[k] for row in matrix)
        scores.append(ClassScore(name, support, predicted,
                                 correct / predicted if predicted else None,
                                 correct / support if support else None))
    return scores


def variants(val_predictions: dict[str, Any]) -> list[str]:
    """Model variants that predicted every record (e.g. keras, float32, int8), in file order."""
    records = val_predictions.get("records") or []
    found: list[str] = []
    for record in records:
        for name in (record.get("predicted") or {}) if isinstance(record, dict) else {}:
            if name not in found:
                found.append(name)
    return [v for v in found
            if all(isinstance((r.get("predicted") or {}).get(v), int) for r in records if isinstance(r, dict))]


def matrix_for(val_predictions: dict[str, Any], variant: str) -> list[list[int]]:
    records = [r for r in val_predictions["records"] if isinstance(r, dict)]
    labels = []
    for r in records:
        if not isinstance(r.get("label"), int):
            raise ValueError(f"every record needs an integer `label`. Received: {r.get('label')!r} for {r.get('path')}")
        labels.append(r["label"])
    return confusion_matrix(labels, [r["predicted"][variant] for r in records], len(val_predictions["classes"]))
