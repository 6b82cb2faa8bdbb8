"""Prototype-mask instance segmentation (YOLACT's idea on the anchor-free CenterNet detector):
P prototype masks from the stride-4 pyramid level, P coefficients per heatmap cell."""

from zazu.adapters.segmentation import SegmentationAdapter
from zazu.nn.protomask import ProtoMaskCoder


class AdaptModel(SegmentationAdapter):
    def make_coder(self):
        return ProtoMaskCoder(self.input_size, self.num_classes, int(self.hp["head_channels"]),
                              int(self.hp["prototypes"]), float(self.hp["mask_weight"]))
