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


def test_the_int8_model_keeps_every_pixel_level_up_to_the_first_convolution(tmp_path):
    """Before a padded convolution (which the converter cannot fold an offset into), the normalisation converts
    to one ADD at the input's own step (1 pixel), its scale folded into the convolution. As one Rescaling it was a
    MUL whose int8 output took a step of 1.5 pixels, then an ADD."""
    import keras
    from ai_edge_litert.interpreter import Interpreter

    from zazu.export.tflite import convert_int8

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(normalize_pixels(inputs))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU(6.0)(x))
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (1, 16, 16, 3)).astype(np.float32) for _ in range(4)]
    interpreter = Interpreter(model_path=str(convert_int8(model, lambda: iter(images), tmp_path / "m.tflite")))
    ops = interpreter._get_ops_details()
    assert [op["op_name"] for op in ops[:2]] == ["ADD", "CONV_2D"]
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    input_scale = interpreter.get_input_details()[0]["quantization"][0]
    assert input_scale == pytest.approx(1.0)  # int8 = pixel - 128
    assert tensors[ops[0]["outputs"][0]]["quantization"][0] == pytest.approx(input_scale)
