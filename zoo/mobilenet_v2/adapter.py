"""MobileNetV2 (keras.applications), width multiplier `alpha` searched."""

from zazu.adapters import ClassificationAdapter
from zazu.nn.layers import normalize_pixels, set_batchnorm_momentum


class AdaptModel(ClassificationAdapter):
    def build(self):
        import keras

        inputs = self.image_input()
        backbone = keras.applications.MobileNetV2(
            input_shape=(*self.input_size, 3), alpha=float(self.hp["alpha"]),
            include_top=False, weights=self.weights(), pooling="avg")
        set_batchnorm_momentum(backbone)
        features = backbone(normalize_pixels(inputs))
        return keras.Model(inputs, self.classifier_head(features), name="mobilenet_v2")
