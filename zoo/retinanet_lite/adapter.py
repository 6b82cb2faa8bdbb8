"""RetinaNet heads on a pretrained EfficientNet-Lite backbone with a P3-P6 feature pyramid (an
EfficientDet-Lite / SSD-style edge detector): the backbone frozen first, then its top blocks
fine-tuned. The network is the base class's build(): backbone -> pyramid -> the coder's heads."""

from zazu.adapters.detection import DetectionAdapter
from zazu.nn.retinanet import RetinaNetCoder


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return RetinaNetCoder(self.input_size, self.num_classes, self.hp["anchor_scales"],
                              self.hp["anchor_ratios"], int(self.hp["head_channels"]),
                              int(self.hp["head_depth"]), self.hp["pyramid_strides"],
                              self.hp["assigner"], self.hp["box_loss"])
