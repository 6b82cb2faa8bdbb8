"""zazu.nn.layers: the shared layers of the from-scratch models."""

import numpy as np
import pytest

from zazu.nn.layers import normalize_pixels


def test_normalize_pixels_maps_the_pixel_range_to_about_minus_one_to_one():
    import keras

    inputs = keras.Input((1, 3, 1))
    model = keras.Model(inputs, normalize_pixels(inputs))
    out = model(np.array([[[[0.0], [128.0], [255.0]]]], np.float32)).numpy().ravel()
    assert out == pytest.approx([-1.0, 0.0, 127 / 128])
