"""Base classes for zoo adapters: subclass the one for your task and write `build()`.

    from zazu.adapters import ClassificationAdapter

    class AdaptModel(ClassificationAdapter):
        def build(self):
            ...  # return a keras.Model
"""

from zazu.adapters.base import BaseAdapter
from zazu.adapters.classification import ClassificationAdapter
from zazu.adapters.detection import DetectionAdapter
from zazu.adapters.segmentation import SegmentationAdapter

# the base a zoo model of each task subclasses, keyed by its `task`
TASK_BASES = {base.task: base for base in (ClassificationAdapter, DetectionAdapter, SegmentationAdapter)}

__all__ = ["BaseAdapter", "ClassificationAdapter", "DetectionAdapter", "SegmentationAdapter", "TASK_BASES"]
