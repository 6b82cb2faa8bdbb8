"""Prototype-mask instance segmentation (YOLACT's idea on the anchor-free CenterNet detector):
P prototype masks from the stride-4 pyramid level, P coefficients per heatmap cell."""

from zazu.adapters.segmentation import SegmentationAdapter
from zazu.nn.protomask import ProtoMaskCoder


class AdaptModel(SegmentationAdapter):
    def make_coder(self):
        return ProtoMaskCoder(self.input_size, self.num_classes, int(self.hp.get("head_channels", 64)),
                              int(self.hp.get("prototypes", 8)), float(self.hp.get("mask_weight", 1.0)))
