"""The int8 debugger's per-layer errors: a layer whose range is set by one channel 500 times larger than
the others loses its small values, and is ranked worst; a plain one shows the rounding error alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zazu.export.int8_debug import ROUNDING_STEPS, parse_layer_statistics


def _model():
    import keras

    inputs = keras.Input((16, 16, 3), name="image")
    plain = keras.layers.Conv2D(4, 3, padding="same", name="plain")(inputs)
    wide = keras.layers.Conv2D(4, 1, name="wide")(inputs)
    model = keras.Model(inputs, [keras.layers.ReLU(name="plain_relu")(plain), keras.layers.ReLU(name="wide_relu")(wide)])
    rng = np.random.default_rng(0)
    kernel = np.abs(rng.normal(0, 0.1, (1, 1, 3, 4))).astype(np.float32)
    kernel[..., 3] *= 500  # one channel sets the tensor's range: the other three get coarse steps
    model.get_layer("wide").set_weights([kernel, np.zeros(4, np.float32)])
    return model


def test_a_layer_with_one_wide_channel_is_ranked_worst(tmp_path):
    from zazu.export.int8_debug import layer_errors
    from zazu.export.tflite import export_saved_model

    saved = export_saved_model(_model(), tmp_path / "saved_model")
    rng = np.random.default_rng(1)
    images = [rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32) for _ in range(8)]
    rows = layer_errors(saved, lambda: iter(images), lambda: iter(images))
    assert len(rows) == 2  # the two convolutions (ReLU fused)
    wide, plain = rows  # worst first: the wide one is the one with the coarse step
    # on the whole tensor the wide channel hides it (rmse small against its spread); its small channels,
    # each within a step or two, are lost: measured channel by channel
    assert wide.scale > 20 * plain.scale and wide.rmse / wide.spread < 0.05
    assert wide.relative > 0.5
    assert plain.steps < 1.0 and plain.relative < 0.1
    assert all(math.isfinite(r.rmse) and r.elements > 0 for r in rows)


def test_the_dump_is_read_by_column_name():
    text = ("op_name,tensor_idx,num_elements,stddev,mean_error,max_abs_error,mean_squared_error,scale,zero_point,"
            "tensor_name,float_stddev,channel_error\n"
            "CONV_2D,3,100.0,0.1,0.0,0.3,0.04,0.5,-128,a/conv,2.0,0.1\n"
            "MEAN,5,10.0,0.1,0.0,0.3,0.0001,0.01,-128,a/mean,0.05,0.7\n")
    rows = parse_layer_statistics(text)
    assert [r.tensor for r in rows] == ["a/mean", "a/conv"]  # channel error 0.7 before 0.1
    mean, conv = rows
    assert conv.rmse == pytest.approx(0.2) and conv.steps == pytest.approx(0.4) and conv.spread == 2.0
    assert mean.rmse == pytest.approx(0.01) and mean.steps == pytest.approx(1.0) and mean.relative == 0.7
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
