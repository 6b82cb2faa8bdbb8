"""Small helpers used when building zoo networks."""

from __future__ import annotations


def set_batchnorm_momentum(model, momentum: float = 0.9) -> None:
    """keras.applications use BatchNorm momentum 0.99-0.999, tuned for ImageNet
    runs of many thousand steps. From scratch on a small dataset the moving
    statistics would barely move in a few epochs and validation (which uses
    them) would see a different network than training did."""
    import keras

    for layer in all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def all_layers(model):
    """Every layer of `model` and of the models nested in it."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


def normalize_pixels(x, center: float = 128.0):
    """[0, 255] pixels -> (pixel - center) / 128, inside the model so exported files take raw pixels: [-1, 127/128]
    at the default center; EfficientNet-Lite's pretrained weights expect center 127.

    An offset and then a scale: TensorFlow Lite converts that pair to one ADD at the int8 input's own step (its
    output is the input's integers shifted) and folds the scale into the first convolution. One
    `Rescaling(scale, offset)` converts to a MUL whose int8 output took a 1.5-pixel step before a padded
    convolution: a third of the 256 pixel levels merged before the model saw them."""
    import keras

    x = keras.layers.Rescaling(1.0, offset=-center, name="normalize_offset")(x)
    return keras.layers.Rescaling(1 / 128, name="normalize")(x)


def _register(cls):
    import keras

    return keras.saving.register_keras_serializable(package="zazu")(cls)


def upsample_nearest(x, size: tuple[int, int]):
    """Nearest-neighbour resize to a static `size`, as one RESIZE_NEAREST_NEIGHBOR op.

    Keras 3's UpSampling2D converts to RESHAPE + TILE (TILE does not run on an
    Edge TPU) and the Resizing layer adds a CALL_ONCE initializer op."""
    return _upsample_layer()(size=tuple(int(v) for v in size))(x)


_UPSAMPLE = None


def _upsample_layer():
    """The layer class, defined on first use so importing this module stays free of Keras."""
    global _UPSAMPLE
    if _UPSAMPLE is None:
        import keras

        @_register
        class NearestResize(keras.layers.Layer):
            def __init__(self, size, **kwargs):
                super().__init__(**kwargs)
                self.size = tuple(size)

            def call(self, x):
                return keras.ops.image.resize(x, self.size, interpolation="nearest")

            def compute_output_shape(self, input_shape):
                return (input_shape[0], *self.size, input_shape[-1])

            def get_config(self):
                return {**super().get_config(), "size": list(self.size)}

        _UPSAMPLE = NearestResize
    return _UPSAMPLE


def custom_objects() -> dict:
    """Zazu's own layers, for `keras.saving.load_model` in a process that has not built them yet."""
    cls = _upsample_layer()
    return {"zazu>NearestResize": cls, "NearestResize": cls}
