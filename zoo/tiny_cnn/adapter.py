"""A small plain CNN: fast and light, the edge baseline."""

from zazu.adapters import ClassificationAdapter
from zazu.nn.layers import normalize_pixels


class AdaptModel(ClassificationAdapter):
    def build(self):
        import keras
        from keras import layers

        inputs = self.image_input()
        x = normalize_pixels(inputs)
        filters = int(self.hp["filters"])
        for block in range(int(self.hp["depth"])):
            x = layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
            x = layers.MaxPooling2D()(x)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, self.classifier_head(x), name="tiny_cnn")
