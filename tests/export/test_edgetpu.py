"""zazu.export.edgetpu: the static Edge TPU compatibility report and the edgetpu_compiler wrapper."""

from __future__ import annotations

import json
import tempfile

import numpy as np
import pytest

from zazu.errors import ZazuError
from zazu.export.edgetpu import AFTER_FIRST, EDGETPU, compatibility_report, parse_compiler_log, run_edgetpu_compiler
from zazu.export.tflite_graph import Graph, OpInfo, TensorInfo

from edgetpu_stub import STUB_LOG, install_stub  # tests/export/edgetpu_stub.py


def _representative():
    rng = np.random.default_rng(0)
    return (rng.uniform(0, 255, (1, 16, 16, 3)).astype(np.float32) for _ in range(3))


def _tiny_model():
    import keras

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.ReLU(max_value=6)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax", bias_initializer="ones")(x)
    return keras.Model(inputs, outputs)


def _convert_float(model, path):
    """Plain float32 TFLite, no quantization; static batch 1 like convert_int8."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved_model:
        model.export(saved_model, format="tf_saved_model", verbose=False,
                     input_signature=[tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)])
        path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(saved_model).convert())
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import keras
    import tensorflow as tf

    from zazu.export.tflite import convert_int8

    folder = tmp_path_factory.mktemp("edgetpu")
    tiny = _tiny_model()
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.Lambda(tf.sin)(x)  # SIN: a TFLite builtin the Edge TPU does not have
    outputs = keras.layers.Conv2D(4, 1)(x)
    return {
        "int8": convert_int8(tiny, _representative, folder / "tiny_int8.tflite"),
        "float": _convert_float(tiny, folder / "tiny_float.tflite"),
        "sin": convert_int8(keras.Model(inputs, outputs), _representative, folder / "sin_int8.tflite"),
    }


@pytest.mark.slow  # trains or exports
def test_int8_model_maps_entirely(models):
    report = compatibility_report(models["int8"])

    assert [op["name"] for op in report["ops"]] == [
        "CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"]
    assert [op["status"] for op in report["ops"]] == [EDGETPU] * 5
    assert all(op["supported"] and op["reason"] is None for op in report["ops"])
    assert report["first_fallback"] is None
    assert report["ops_share"] == 1.0 and report["macs_share"] == 1.0 and report["fully_mapped"]
    assert report["macs_total"] == 16 * 16 * 8 * 27 + 16 * 16 * 8 * 9 + 8 * 4


def test_float_model_is_not_mappable_and_the_reason_names_the_dtype(models):
    report = compatibility_report(models["float"])

    first = report["ops"][0]
    assert first["name"] == "CONV_2D" and not first["supported"]
    assert first["status"].startswith("cpu (unsupported: ") and "FLOAT32" in first["status"]
    assert "FLOAT32" in first["reason"] and "int8 or uint8" in first["reason"]
    assert report["first_fallback"]["index"] == 0
    assert [op["status"] for op in report["ops"][1:]] == [AFTER_FIRST] * (len(report["ops"]) - 1)
    assert report["ops_on_edgetpu"] == 0 and report["ops_share"] == 0.0 and report["macs_share"] == 0.0
    assert not report["fully_mapped"]


def test_after_the_first_unsupported_op_everything_runs_on_cpu(models):
    report = compatibility_report(models["sin"])
    ops = report["ops"]

    # int8 conversion keeps SIN in float, wrapped in DEQUANTIZE / QUANTIZE
    assert [op["name"] for op in ops] == ["CONV_2D", "DEQUANTIZE", "SIN", "QUANTIZE", "CONV_2D"]
    assert ops[0]["status"] == EDGETPU
    assert report["first_fallback"]["index"] == 1 and report["first_fallback"]["name"] == "DEQUANTIZE"
    assert ops[1]["reason"].startswith("DEQUANTIZE is not an Edge TPU operation")
    assert ops[1]["status"] == f"cpu (unsupported: {ops[1]['reason']})"
    assert [op["status"] for op in ops[2:]] == [AFTER_FIRST] * 3
    assert "SIN is not an Edge TPU operation" in ops[2]["reason"]
    assert ops[4]["supported"] and ops[4]["reason"] is None  # supported on its own, still on the CPU
    first_conv, last_conv = 16 * 16 * 4 * (3 * 3 * 3), 16 * 16 * 4 * 4
    assert report["macs_share"] == pytest.approx(first_conv / (first_conv + last_conv))
    assert report["ops_share"] == pytest.approx(1 / 5)


# --- the rules on hand-built graphs ------------------------------------------------------------------


def _tensor(index, shape, dtype="INT8", constant=False, signature=None):
    return TensorInfo(index, f"t{index}", tuple(shape), signature, dtype, constant, int(np.prod(shape)))


def test_more_than_3_dimensions_only_when_the_outer_ones_are_1():
    tensors = (_tensor(0, (1, 1, 4, 4, 8)), _tensor(1, (1, 1, 4, 4, 8)), _tensor(2, (1, 2, 4, 4, 8)))
    graph = Graph("hand.tflite", (OpInfo(0, "RELU", (0,), (1,)), OpInfo(1, "TANH", (1,), (2,))),
                  tensors, (0,), (2,), 0)
    report = compatibility_report(graph)

    assert report["ops"][0]["status"] == EDGETPU
    assert "tensor 2 has shape [1, 2, 4, 4, 8]" in report["ops"][1]["reason"]
    assert report["first_fallback"]["index"] == 1


def test_dynamic_shapes_and_computed_operands_are_refused():
    tensors = (_tensor(0, (1, 8, 8, 3), signature=(-1, 8, 8, 3)), _tensor(1, (1, 8, 8, 3)),
               _tensor(2, (4,), dtype="INT32"), _tensor(3, (1, 192)), _tensor(4, (1, 192)))
    ops = (OpInfo(0, "RELU", (0,), (1,)), OpInfo(1, "RESHAPE", (1, 2), (3,)), OpInfo(2, "RELU", (3,), (4,)))
    report = compatibility_report(Graph("hand.tflite", ops, tensors, (0,), (4,), 0))

    assert "tensor 0 has a dynamic shape [-1, 8, 8, 3]" in report["ops"][0]["reason"]
    assert report["first_fallback"]["index"] == 0

    fixed = (_tensor(0, (1, 8, 8, 3)), *tensors[1:])
    report = compatibility_report(Graph("hand.tflite", ops, fixed, (0,), (4,), 0))
    assert report["first_fallback"]["index"] == 1  # RESHAPE's shape is computed at run time, not a constant
    assert "operand tensor 2 is computed at run time" in report["ops"][1]["reason"]

    constant_shape = (*fixed[:2], _tensor(2, (4,), dtype="INT32", constant=True), *fixed[3:])
    report = compatibility_report(Graph("hand.tflite", ops, constant_shape, (0,), (4,), 0))
    assert report["fully_mapped"]


def test_float_io_wrapping_stays_on_cpu_without_ending_the_edge_tpu_part():
    tensors = (_tensor(0, (1, 8), "FLOAT32"), _tensor(1, (1, 8)), _tensor(2, (1, 8)), _tensor(3, (1, 8), "FLOAT32"))
    ops = (OpInfo(0, "QUANTIZE", (0,), (1,)), OpInfo(1, "RELU", (1,), (2,)), OpInfo(2, "DEQUANTIZE", (2,), (3,)))
    report = compatibility_report(Graph("hand.tflite", ops, tensors, (0,), (3,), 0))

    assert [op["status"].split(" (")[0] for op in report["ops"]] == ["cpu", EDGETPU, "cpu"]
    assert "graph input" in report["ops"][0]["reason"] and "graph output" in report["ops"][2]["reason"]
    assert report["first_fallback"] is None
    assert report["ops_on_cpu"] == 2 and not report["fully_mapped"]


# --- edgetpu_compiler --------------------------------------------------------------------------------

def test_compiler_is_called_on_the_model_and_its_log_parsed(models, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = install_stub(bin_dir, monkeypatch)
    out_dir = tmp_path / "compiled"

    result = run_edgetpu_compiler(models["int8"], out_dir)

    assert json.loads(record.read_text()) == ["-s", "-o", str(out_dir), str(models["int8"])]
    assert result["available"] and result["ok"] and result["returncode"] == 0
    assert result["version"] == "16.0.384591198" and result["compile_ms"] == 52
    assert (result["ops_on_edgetpu"], result["ops_on_cpu"], result["total_ops"]) == (30, 1, 31)
    assert result["edgetpu_subgraphs"] == 1
    assert result["on_chip_memory"] == "1.23MiB" and result["on_chip_memory_bytes"] == round(1.23 * 2 ** 20)
    assert result["on_chip_memory_remaining"] == "6.54MiB"
    assert result["off_chip_memory"] == "0.00B" and result["off_chip_memory_bytes"] == 0
    assert result["compiled_model"] == str(out_dir / "tiny_int8_edgetpu.tflite")
    assert (out_dir / "tiny_int8_edgetpu.tflite").read_bytes() == models["int8"].read_bytes()
    assert result["operators"][0] == {"operator": "CONV_2D", "count": 12, "status": "Mapped to Edge TPU"}
    assert result["operators"][-1]["operator"] == "QUANTIZE"
    assert result["operators"][-1]["status"].startswith("Operation is otherwise supported, but not mapped")
    assert sum(o["count"] for o in result["operators"]) == 31
    assert "Number of operations that will run on CPU: 1" in (out_dir / "edgetpu_compiler.log").read_text()


def test_compiler_missing_from_path_is_reported_in_one_line(models, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no edgetpu_compiler anywhere

    result = run_edgetpu_compiler(models["int8"], tmp_path / "compiled")

    assert result["available"] is False
    assert result["message"].startswith("edgetpu_compiler is not on PATH; ")
    assert "\n" not in result["message"]
    assert not (tmp_path / "compiled").exists()


def test_compiler_failure_is_an_entry_with_the_log_tail(models, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = install_stub(bin_dir, monkeypatch, exit_code=1)
    out_dir = tmp_path / "compiled"

    result = run_edgetpu_compiler(models["sin"], out_dir)

    assert json.loads(record.read_text())[-1] == str(models["sin"])
    assert result["available"] and result["ok"] is False and result["returncode"] == 1
    assert "exited with status 1" in result["message"] and str(models["sin"]) in result["message"]
    assert result["log_tail"][-1] == "Compilation failed!"
    assert any("Didn't find op for builtin opcode 'SIN'" in line for line in result["log_tail"])
    assert result["compiled_model"] is None
    assert (out_dir / "edgetpu_compiler.log").read_text().startswith("Edge TPU Compiler version")


def test_compiler_on_a_missing_model_is_a_zazu_error(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install_stub(bin_dir, monkeypatch)
    with pytest.raises(ZazuError, match="missing.tflite"):
        run_edgetpu_compiler(tmp_path / "missing.tflite", tmp_path / "out")


def test_counts_come_from_the_operator_table_when_the_log_omits_them():
    log = STUB_LOG.format(model="m.tflite", compiled="m_edgetpu.tflite", oplog="m_edgetpu.log")
    log = "\n".join(line for line in log.splitlines() if not line.startswith("Number of operations"))

    parsed = parse_compiler_log(log)

    assert (parsed["ops_on_edgetpu"], parsed["ops_on_cpu"], parsed["total_ops"]) == (30, 1, 31)
    assert parsed["output_size_bytes"] == round(1.45 * 2 ** 20)
