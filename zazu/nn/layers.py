"""Small helpers used when building zoo networks."""

from __future__ import annotations


def set_batchnorm_momentum(model, momentum: float = 0.9) -> None:
    """keras.applications use BatchNorm momentum 0.99-0.999, tuned for ImageNet
    runs of many thousand steps. From scratch on a small dataset the moving
    statistics would barely move in a few epochs and validation (which uses
    them) would see a different network than training did."""
    import keras

    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def normalize_pixels(x):
    """[0, 255] pixels -> [-1, 1], inside the model so exported files take raw pixels."""
    import keras

    return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalize")(x)
