"""EfficientNet-Lite2 pretrained on ImageNet (Google's int8-friendly EfficientNet: ReLU6, no
squeeze-excite), with a new softmax head: frozen-backbone head training on cached pooled
features, then fine-tuning of the top blocks (`zazu.adapters.transfer`)."""

from zazu.adapters import ClassificationAdapter


class AdaptModel(ClassificationAdapter):
    def build(self):
        return self.backbone_classifier("efficientnet_lite2")
