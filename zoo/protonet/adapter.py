"""Prototype-mask instance segmentation (YOLACT's idea on the anchor-free CenterNet detector):
P prototype masks from the stride-4 pyramid level, P coefficients per heatmap cell."""

from zazu.adapters.segmentation import SegmentationAdapter
from zazu.nn.backbones import build_backbone, fpn
from zazu.nn.layers import normalize_pixels
from zazu.nn.protomask import ProtoMaskCoder


class AdaptModel(SegmentationAdapter):
    def make_coder(self):
        return ProtoMaskCoder(self.input_size, self.num_classes, int(self.hp.get("head_channels", 64)),
                              int(self.hp.get("prototypes", 8)), float(self.hp.get("mask_weight", 1.0)))

    def build(self):
        import keras

        inputs = self.image_input()
        features = build_backbone(self.hp.get("backbone", "simple"), normalize_pixels(inputs),
                                  (*self.input_size, 3), self.hp)
        pyramid = fpn(features, (4, 8, 16, 32), int(self.hp.get("fpn_channels", 64)))
        return keras.Model(inputs, self.coder.outputs(pyramid), name="protonet")
