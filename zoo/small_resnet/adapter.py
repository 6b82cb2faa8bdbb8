"""A CIFAR-style ResNet (He et al. 2016, section 4.2) for small inputs: 3 stages of
basic blocks at 16/32/64 filters; `depth` = 6n + 2 (8, 14, 20)."""

from zazu.adapters import ClassificationAdapter
from zazu.nn.layers import normalize_pixels


def _block(x, filters: int, stride: int):
    from keras import layers

    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization(momentum=0.9)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=0.9)(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(shortcut)
        shortcut = layers.BatchNormalization(momentum=0.9)(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


class AdaptModel(ClassificationAdapter):
    def build(self):
        import keras
        from keras import layers

        depth = int(self.hp["depth"])
        if (depth - 2) % 6:
            raise ValueError(f"small_resnet: depth must be 6n + 2 (8, 14, 20, ...). Received: depth={depth}")
        blocks = (depth - 2) // 6
        width = int(self.hp["width"])
        inputs = self.image_input()
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(normalize_pixels(inputs))
        x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
        for stage in range(3):
            for i in range(blocks):
                x = _block(x, width * 2**stage, 2 if (stage > 0 and i == 0) else 1)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, self.classifier_head(x), name="small_resnet")
