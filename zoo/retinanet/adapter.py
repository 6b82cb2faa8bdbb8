"""RetinaNet: anchors on a P3-P5 feature pyramid, focal loss; anchor_scales and anchor_ratios searched
(the original ZazuML zoo model)."""

from zazu.adapters.detection import DetectionAdapter
from zazu.nn.backbones import build_backbone, fpn
from zazu.nn.layers import normalize_pixels
from zazu.nn.retinanet import RetinaNetCoder


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return RetinaNetCoder(self.input_size, self.num_classes, self.hp.get("anchor_scales", [1.0, 1.26, 1.587]),
                              self.hp.get("anchor_ratios", [0.5, 1.0, 2.0]), int(self.hp.get("head_channels", 64)),
                              int(self.hp.get("head_depth", 2)))

    def build(self):
        import keras

        inputs = self.image_input()
        features = build_backbone(self.hp.get("backbone", "simple"), normalize_pixels(inputs),
                                  (*self.input_size, 3), self.hp)
        pyramid = fpn(features, RetinaNetCoder.strides, int(self.hp.get("fpn_channels", 64)))
        return keras.Model(inputs, self.coder.outputs(pyramid), name="retinanet")
