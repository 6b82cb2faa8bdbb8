"""Classification metrics from true and predicted class indexes: the confusion matrix and
per-class precision, recall and F1 (the report's per-class table and `zazu evaluate`)."""

from __future__ import annotations

from dataclasses import dataclass


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


def per_class_report(labels: list[int], predicted: list[int], classes: list[str]) -> dict:
    """{"per_class": {name: precision, recall, f1, support}, "macro_average", "confusion_matrix": {classes, matrix}}.

    A class never predicted has precision 0 (and never present, recall 0): no NaN in the JSON."""
    matrix = confusion_matrix(list(labels), list(predicted), len(classes))
    per_class = {}
    for score in class_scores(matrix, classes):
        precision, recall = score.precision or 0.0, score.recall or 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[score.name] = {"precision": precision, "recall": recall, "f1": f1, "support": score.support}
    present = [v for v in per_class.values() if v["support"]]  # classes absent from the data do not vote
    macro = {key: sum(v[key] for v in present) / len(present) if present else 0.0
             for key in ("precision", "recall", "f1")}
    return {"per_class": per_class, "macro_average": macro,
            "confusion_matrix": {"classes": list(classes), "matrix": matrix}}
