"""Prototype-mask instance segmentation on a pretrained EfficientNet-Lite backbone: the protonet
heads (CenterNet boxes, P prototypes, P coefficients per cell) on a feature pyramid to stride 4."""

from zazu.adapters.segmentation import SegmentationAdapter
from zazu.nn.protomask import ProtoMaskCoder


class AdaptModel(SegmentationAdapter):
    def make_coder(self):
        return ProtoMaskCoder(self.input_size, self.num_classes, int(self.hp["head_channels"]),
                              int(self.hp["prototypes"]), float(self.hp["mask_weight"]))
