"""The normalisations' int8 form: every pixel level reaches the first convolution.

As one `Rescaling(scale, offset)` the converter makes a MUL whose int8 output took a step of 1.5 pixels, then an
ADD: a third of the 256 pixel levels merged before the first convolution saw them. As an offset and then a scale
it makes one ADD at the input's own step (1 pixel) and folds the scale into the convolution."""

import numpy as np
import pytest


def _efficientnet_lite():
    from zazu.nn.efficientnet_lite import efficientnet_lite

    return efficientnet_lite("efficientnet_lite0", (32, 32, 3))


def _from_scratch():
    """normalize_pixels before a padded convolution, which the converter cannot fold an offset into."""
    import keras

    from zazu.nn.layers import normalize_pixels

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(normalize_pixels(inputs))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU(6.0)(x))
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.mark.parametrize("build", [_efficientnet_lite, _from_scratch], ids=["efficientnet_lite", "normalize_pixels"])
def test_the_int8_model_keeps_every_pixel_level_up_to_the_first_convolution(build, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from zazu.export.tflite import convert_int8

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (1, 32, 32, 3)).astype(np.float32) for _ in range(4)]
    interpreter = Interpreter(model_path=str(convert_int8(build(), lambda: iter(images), tmp_path / "m.tflite")))
    ops = interpreter._get_ops_details()
    assert [op["op_name"] for op in ops[:2]] == ["ADD", "CONV_2D"]
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    input_scale = interpreter.get_input_details()[0]["quantization"][0]
    assert input_scale == pytest.approx(1.0)  # int8 = pixel - 128
    assert tensors[ops[0]["outputs"][0]]["quantization"][0] == pytest.approx(input_scale)
