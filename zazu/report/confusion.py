"""Confusion matrix and per-class precision / recall from `export/val_predictions.json`."""

from __future__ import annotations

from typing import Any

from zazu.metrics.classification import ClassScore, class_scores, confusion_matrix  # noqa: F401  (the report's API)


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
