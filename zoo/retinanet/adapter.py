"""RetinaNet: anchors on a P3-P5 feature pyramid, focal loss; anchor_scales and anchor_ratios searched
(the original ZazuML zoo model)."""

from zazu.adapters.detection import DetectionAdapter
from zazu.nn.retinanet import RetinaNetCoder


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return RetinaNetCoder(self.input_size, self.num_classes, self.hp["anchor_scales"],
                              self.hp["anchor_ratios"], int(self.hp["head_channels"]),
                              int(self.hp["head_depth"]), self.hp["pyramid_strides"],
                              self.hp["assigner"])
