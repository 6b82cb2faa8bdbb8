"""CenterNet-style anchor-free detector: backbone + FPN down to stride 4, heatmap and box heads."""

from zazu.adapters.detection import DetectionAdapter
from zazu.nn.centernet import CenterNetCoder


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return CenterNetCoder(self.input_size, self.num_classes, int(self.hp["head_channels"]))
