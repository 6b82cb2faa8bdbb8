"""Read a .tflite file's graph: ops in execution order, tensors, MACs per op.

The file is parsed with the flatbuffer schema that ships in `ai_edge_litert`
(`schema_py_generated`); nothing is run and no interpreter is created, so any
.tflite can be inspected, including ones LiteRT cannot execute (Edge TPU
custom ops). Only subgraph 0 (the main graph) is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from zazu.errors import ZazuError

# Bits per element; a type not listed (STRING, RESOURCE, VARIANT) has no fixed size.
_BITS = {
    "FLOAT32": 32, "FLOAT16": 16, "BFLOAT16": 16, "FLOAT64": 64, "INT64": 64, "INT32": 32, "INT16": 16,
    "INT8": 8, "UINT8": 8, "UINT16": 16, "UINT32": 32, "UINT64": 64, "BOOL": 8, "COMPLEX64": 64,
    "COMPLEX128": 128, "INT4": 4, "UINT4": 4, "INT2": 2, "FLOAT8_E4M3FN": 8, "FLOAT8_E5M2": 8,
}

# Input positions that hold the weights and the bias of the ops that have them.
WEIGHT_INPUTS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1}
BIAS_INPUTS = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3}


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...] | None  # -1 marks a dynamic dimension; None when the file has none
    dtype: str  # TFLite TensorType name: "INT8", "FLOAT32", ...
    is_constant: bool  # has data in the file (weights, biases, shape and axis operands)
    size_bytes: int  # element count x element size (for a dynamic shape, with its dynamic dims as 1)

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class OpInfo:
    index: int  # position in execution order
    name: str  # BuiltinOperator name ("CONV_2D"), or a custom op's custom_code
    inputs: tuple[int, ...]  # tensor indexes; -1 for an optional input left out
    outputs: tuple[int, ...]
    is_custom: bool = False


@dataclass(frozen=True)
class Graph:
    path: str
    ops: tuple[OpInfo, ...]  # subgraph 0, in execution order
    tensors: tuple[TensorInfo, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    file_size: int

    def tensor(self, index: int) -> TensorInfo | None:
        return self.tensors[index] if index >= 0 else None


def read_graph(path: str | Path) -> Graph:
    """Parse subgraph 0 of a .tflite file. Raises ZazuError (naming the file)
    when it is missing or not a TFLite flatbuffer."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ZazuError(f"TFLite file not found. Expected an existing .tflite file. Received: path={path}") from None
    except OSError as error:
        raise ZazuError(f"Cannot read the TFLite file ({error.strerror}). Expected a readable .tflite file. "
                        f"Received: path={path}") from None
    # A TFLite flatbuffer carries the file identifier "TFL3" at bytes 4-8.
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ZazuError(f"Not a TFLite model. Expected a .tflite flatbuffer (file identifier TFL3). "
                        f"Received: path={path} ({len(data)} bytes)")
    try:
        return _parse(path, data)
    except ZazuError:
        raise
    except Exception as error:  # a truncated or corrupt flatbuffer fails anywhere in the generated reader
        raise ZazuError(f"Corrupt TFLite model ({type(error).__name__}: {error}). Expected a complete .tflite "
                        f"flatbuffer. Received: path={path}") from None


def _parse(path: Path, data: bytes) -> Graph:
    from ai_edge_litert import schema_py_generated as schema

    op_names = _enum_names(schema.BuiltinOperator)
    type_names = _enum_names(schema.TensorType)
    model = schema.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() < 1:
        raise ZazuError(f"TFLite model has no graph. Expected at least one subgraph. Received: path={path}")
    subgraph = model.Subgraphs(0)

    tensors = []
    for i in range(subgraph.TensorsLength()):
        t = subgraph.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        signature = None if t.ShapeSignatureIsNone() else tuple(int(d) for d in t.ShapeSignatureAsNumpy())
        dtype = type_names.get(t.Type(), f"TYPE_{t.Type()}")
        data_bytes = 0
        if t.Buffer() > 0:  # buffer 0 is the empty sentinel
            buffer = model.Buffers(t.Buffer())
            # Models over 2 GB keep buffers after the flatbuffer: offset (> 1) and size instead of data.
            data_bytes = buffer.DataLength() or (buffer.Size() if buffer.Offset() > 1 else 0)
        external = getattr(t, "ExternalBuffer", lambda: 0)()
        is_constant = data_bytes > 0 or external > 0
        bits = _BITS.get(dtype)
        size = math.ceil(math.prod(shape) * bits / 8) if bits else data_bytes
        name = (t.Name() or b"").decode("utf-8", errors="replace")
        tensors.append(TensorInfo(i, name, shape, signature, dtype, is_constant, size))

    ops = []
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        # Codes above 127 live in builtin_code; older files only fill deprecated_builtin_code.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        is_custom = builtin == schema.BuiltinOperator.CUSTOM
        if is_custom:
            name = (code.CustomCode() or b"").decode("utf-8", errors="replace") or "CUSTOM"
        else:
            name = op_names.get(builtin, f"BUILTIN_{builtin}")
        inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
        outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
        ops.append(OpInfo(i, name, inputs, outputs, is_custom))

    graph_inputs = tuple(int(x) for x in subgraph.InputsAsNumpy()) if subgraph.InputsLength() else ()
    graph_outputs = tuple(int(x) for x in subgraph.OutputsAsNumpy()) if subgraph.OutputsLength() else ()
    return Graph(str(path), tuple(ops), tuple(tensors), graph_inputs, graph_outputs, len(data))


def _enum_names(enum_class) -> dict[int, str]:
    return {value: name for name, value in vars(enum_class).items()
            if not name.startswith("_") and isinstance(value, int)}


def op_macs(graph: Graph, op: OpInfo) -> int:
    """Multiply-accumulates of one op; 0 for every op other than these four (shapes NHWC):

    CONV_2D            out_n*out_h*out_w*out_c * k_h*k_w*in_c   (filter [out_c, k_h, k_w, in_c])
    DEPTHWISE_CONV_2D  out_n*out_h*out_w*out_c * k_h*k_w        (filter [1, k_h, k_w, out_c])
    FULLY_CONNECTED    (output elements) * in_features          (weights [out_features, in_features])
    TRANSPOSE_CONV     in_n*in_h*in_w*in_c * k_h*k_w*out_c      (every input pixel meets the whole filter)
    """
    def shape(position: int) -> tuple[int, ...] | None:
        if position >= len(op.inputs) or op.inputs[position] < 0:
            return None
        return graph.tensors[op.inputs[position]].shape

    out = graph.tensors[op.outputs[0]].shape if op.outputs and op.outputs[0] >= 0 else None
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        weights = shape(1)
        if out is None or weights is None or len(weights) != 4:
            return 0
        per_output = weights[1] * weights[2] * (weights[3] if op.name == "CONV_2D" else 1)
        return math.prod(out) * per_output
    if op.name == "FULLY_CONNECTED":
        weights = shape(1)
        if out is None or weights is None or len(weights) != 2:
            return 0
        return math.prod(out) * weights[1]
    if op.name == "TRANSPOSE_CONV":
        weights, source = shape(1), shape(2)
        if weights is None or source is None or len(weights) != 4:
            return 0
        return math.prod(source) * weights[0] * weights[1] * weights[2]
    return 0
