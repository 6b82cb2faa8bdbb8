"""RetinaNet heads on a pretrained EfficientNet-Lite backbone with a P3-P6 feature pyramid (an
EfficientDet-Lite / SSD-style edge detector): the backbone frozen first, then its top blocks
fine-tuned. The network is the base class's build(): backbone -> pyramid -> the coder's heads."""

from zazu.adapters.detection import DetectionAdapter
from zazu.nn.retinanet import RetinaNetCoder


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return RetinaNetCoder(self.input_size, self.num_classes, self.hp.get("anchor_scales", [1.0, 1.26, 1.587]),
                              self.hp.get("anchor_ratios", [0.5, 1.0, 2.0]), int(self.hp.get("head_channels", 64)),
                              int(self.hp.get("head_depth", 2)), self.hp.get("pyramid_strides", [8, 16, 32, 64]))
