"""CenterNet-style anchor-free detector: backbone + FPN down to stride 4, heatmap and box heads."""

from zazu.adapters.detection import DetectionAdapter
from zazu.nn.backbones import build_backbone, fpn
from zazu.nn.centernet import CenterNetCoder
from zazu.nn.layers import normalize_pixels


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return CenterNetCoder(self.input_size, self.num_classes, int(self.hp.get("head_channels", 64)))

    def build(self):
        import keras

        inputs = self.image_input()
        features = build_backbone(self.hp.get("backbone", "simple"), normalize_pixels(inputs),
                                  (*self.input_size, 3), self.hp)
        pyramid = fpn(features, (4, 8, 16, 32), int(self.hp.get("fpn_channels", 64)))
        return keras.Model(inputs, self.coder.outputs(pyramid), name="centernet")
