"""The int8 debugger's per-layer errors: a layer of small values concatenated with a wide one (as mask
coefficients are with prototypes) shares the wide one's step, loses its values, and is ranked worst;
without the concatenation it shows the rounding error alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zazu.export.int8_debug import ROUNDING_STEPS, parse_layer_statistics

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')


def _model(concatenated: bool):
    import keras

    inputs = keras.Input((16, 16, 3), name="image")
    small = keras.layers.ReLU(name="small_relu")(keras.layers.Conv2D(4, 3, padding="same", name="small")(inputs))
    wide = keras.layers.ReLU(name="wide_relu")(keras.layers.Conv2D(4, 1, name="wide")(inputs))
    outputs = keras.layers.Concatenate(name="both")([small, wide]) if concatenated else [small, wide]
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    kernel = np.abs(rng.normal(0, 0.1, (1, 1, 3, 4))).astype(np.float32) * 300  # values up to ~100
    model.get_layer("wide").set_weights([kernel, np.zeros(4, np.float32)])
    return model


def _errors(model, tmp_path):
    from zazu.export.int8_debug import layer_errors
    from zazu.export.tflite import export_saved_model

    saved = export_saved_model(model, tmp_path / "saved_model")
    rng = np.random.default_rng(1)
    images = [rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32) for _ in range(8)]
    return layer_errors(saved, lambda: iter(images), lambda: iter(images))


def test_small_values_sharing_a_wide_step_are_ranked_worst(tmp_path):
    rows = _errors(_model(concatenated=True), tmp_path)
    convs = [r for r in rows if r.op == "CONV_2D"]
    assert len(convs) == 2
    small, wide = convs  # worst first: the small layer, quantized with the concatenation's wide step
    assert small.scale == pytest.approx(wide.scale) and small.spread < wide.spread / 20
    assert small.relative > 0.1 and wide.relative < 0.02
    assert rows[0] is small


def test_alone_the_same_layer_shows_the_rounding_error_only(tmp_path):
    rows = _errors(_model(concatenated=False), tmp_path)
    small = min(rows, key=lambda r: r.spread)
    assert small.steps == pytest.approx(ROUNDING_STEPS, abs=0.15) and small.relative < 0.05
    assert all(math.isfinite(r.rmse) and r.elements > 0 for r in rows)


def test_the_dump_is_read_by_column_name():
    text = ("op_name,tensor_idx,num_elements,stddev,mean_error,max_abs_error,mean_squared_error,scale,zero_point,"
            "tensor_name,float_stddev\n"
            "CONV_2D,3,100.0,0.1,0.0,0.3,0.04,0.5,-128,a/conv,2.0\n"
            "MEAN,5,10.0,0.1,0.0,0.3,0.0001,0.01,-128,a/mean,0.05\n")
    rows = parse_layer_statistics(text)
    assert [r.tensor for r in rows] == ["a/mean", "a/conv"]  # 0.01 / 0.05 = 0.2 before 0.2 / 2.0 = 0.1
    mean, conv = rows
    assert conv.rmse == pytest.approx(0.2) and conv.steps == pytest.approx(0.4) and conv.relative == pytest.approx(0.1)
    assert mean.rmse == pytest.approx(0.01) and mean.steps == pytest.approx(1.0) and mean.relative == pytest.approx(0.2)
    assert ROUNDING_STEPS == pytest.approx(0.2887, abs=1e-4)


def test_zazu_export_explain_int8_names_the_layers_and_writes_them(tmp_path, shapes_dataset):
    import json

    from click.testing import CliRunner

    from zazu.cli import cli

    run = tmp_path / "run"
    searched = CliRunner().invoke(cli, ["--task", "classification", "--data", str(shapes_dataset), "--models",
                                        "tiny_cnn", "--max-trials", "1", "--epochs", "1", "--output", str(run)])
    assert searched.exit_code == 0, searched.output
    explained = CliRunner().invoke(cli, ["export", str(run), "--explain-int8"], env={"COLUMNS": "200"})
    assert explained.exit_code == 0, explained.output
    written = json.loads(next((run / "trials").glob("*/int8_layers.json")).read_text())
    layers = written["layers"]
    assert layers and {"op", "tensor", "steps", "relative"} <= set(layers[0])
    assert [layer["relative"] for layer in layers] == sorted((layer["relative"] for layer in layers), reverse=True)
    assert layers[0]["op"] in explained.output and "int8_layers.json" in explained.output
    assert not (run / "export-explain").exists()
