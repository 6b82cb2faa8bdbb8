"""A dataset's fingerprint: what the images and annotations of a run were, in one hash.

Written into run.json when a search starts and checked when it resumes, so a
resumed search cannot mix trials trained on different data. It covers every
image's bytes and the checked records (labels, boxes, masks), not the folder's
location, so a dataset moved elsewhere keeps its fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from zazu.errors import DatasetError

CHUNK = 1 << 20


def file_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fingerprint_dataset(dataset) -> str:
    """"sha256:<hex>" over the classes, each record (without its source-file note) and each image's bytes."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": dataset.format, "classes": dataset.classes}, sort_keys=True).encode())
    for record in sorted(dataset.records, key=lambda r: r.path):
        fields = asdict(record)
        fields.pop("source", None)  # where an annotation came from, not what it says
        path = dataset.root / record.path
        try:
            digest = file_digest(path)
        except OSError as e:
            raise DatasetError(f"{path}: cannot be read ({e.strerror}). Expected the image the run's "
                               "dataset.json lists.") from None
        h.update(json.dumps(fields, sort_keys=True, default=str).encode())
        h.update(digest.encode())
    return f"sha256:{h.hexdigest()}"
