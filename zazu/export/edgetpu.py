"""Will a .tflite model run on a Coral Edge TPU? A static check, and the real compiler when installed.

`compatibility_report(graph)` predicts, op by op, what `edgetpu_compiler` maps
to the Edge TPU, from Coral's published model requirements and list of
supported operations (https://coral.ai/docs/edgetpu/models-intro/, sections
"Model requirements" and "Supported operations"):

- the op is in Coral's list (`SUPPORTED_OPS`, Coral's names mapped to TFLite
  BuiltinOperator names);
- its tensors are 8-bit: every tensor it reads or writes is int8 or uint8,
  except the int32 bias of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and
  TRANSPOSE_CONV and the integer shape / axis / index operands of the ops that
  take them (RESHAPE's shape, MEAN's axes, PAD's paddings, ...), which must be
  constants;
- its activation tensors have static shapes (no -1 in shape_signature), and a
  tensor with more than 3 dimensions has size 1 in all but the 3 innermost.

The compiler maps one prefix of the graph: "as soon as an unsupported
operation occurs, that operation and everything after it executes on the CPU,
even if supported operations occur later". So after the first unsupported op
every later op is reported "cpu (after first unsupported op)".

Decision on QUANTIZE / DEQUANTIZE: QUANTIZE is in Coral's list and is mapped
when it converts between 8-bit types (uint8 <-> int8). DEQUANTIZE is not in
the list: it always runs on the CPU. The float input/output wrapping of a
model converted with float32 I/O -- a leading QUANTIZE that reads a float
graph input, a trailing DEQUANTIZE that writes a graph output -- is reported
on the CPU with its reason, but does not end the Edge TPU part (the compiler
leaves these on the CPU around one mapped subgraph); `first_fallback` names the
first op that does. Zazu's own export (`convert_int8`) has int8 I/O and no such
ops.

Not checked: the op-specific limits of Coral's table (fused activations on
pooling, reduction axes, strides of STRIDED_SLICE, Softmax size, ...); they are
listed as `limitation` per op, and only the compiler decides them.
`run_edgetpu_compiler` runs that compiler when it is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from zazu.errors import ZazuError
from zazu.export.tflite_graph import BIAS_INPUTS, Graph, OpInfo, op_macs, read_graph

SOURCE = "https://coral.ai/docs/edgetpu/models-intro/#supported-operations"

# TFLite BuiltinOperator name -> (Coral's name, Coral's known limitation or "").
SUPPORTED_OPS: dict[str, tuple[str, str]] = {
    "ADD": ("Add", ""),
    "AVERAGE_POOL_2D": ("AveragePool2d", "No fused activation function."),
    "CONCATENATION": ("Concatenation", "No fused activation function; a constant input must be all zeros, "
                                       "with exactly 2 inputs."),
    "CONV_2D": ("Conv2d", "Same dilation in x and y."),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2d", "Dilated kernels are not supported."),
    "EXPAND_DIMS": ("ExpandDims", ""),
    "FULLY_CONNECTED": ("FullyConnected", "Only the default weights format."),
    "L2_NORMALIZATION": ("L2Normalization", ""),
    "LOGISTIC": ("Logistic", ""),
    "LSTM": ("LSTM", "Unidirectional LSTM only."),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("LSTM", "Unidirectional LSTM only."),
    "MAXIMUM": ("Maximum", ""),
    "MAX_POOL_2D": ("MaxPool2d", "No fused activation function."),
    "MEAN": ("Mean", "No reduction in the batch dimension; x and/or y only."),
    "MINIMUM": ("Minimum", ""),
    "MUL": ("Mul", ""),
    "PACK": ("Pack", "No packing in the batch dimension."),
    "PAD": ("Pad", "No padding in the batch dimension."),
    "PRELU": ("PReLU", "Alpha must be constant."),
    "QUANTIZE": ("Quantize", ""),
    "REDUCE_MAX": ("ReduceMax", "No reduction in the batch dimension."),
    "REDUCE_MIN": ("ReduceMin", "No reduction in the batch dimension."),
    "RELU": ("ReLU", ""),
    "RELU6": ("ReLU6", ""),
    "RELU_N1_TO_1": ("ReLUN1To1", ""),
    "RESHAPE": ("Reshape", "Some reshapes of large tensors are not mapped."),
    "RESIZE_BILINEAR": ("ResizeBilinear", "3-D input/output; some sizes are not mapped (precision)."),
    "RESIZE_NEAREST_NEIGHBOR": ("ResizeNearestNeighbor", "3-D input/output; some sizes are not mapped (precision)."),
    "RSQRT": ("Rsqrt", ""),
    "SLICE": ("Slice", ""),
    "SOFTMAX": ("Softmax", "1-D input of at most 16,000 elements."),
    "SPACE_TO_DEPTH": ("SpaceToDepth", ""),
    "SPLIT": ("Split", "No splitting in the batch dimension."),
    "SQUEEZE": ("Squeeze", ""),
    "STRIDED_SLICE": ("StridedSlice", "All strides 1; no ellipsis or new-axis mask."),
    "SUB": ("Sub", ""),
    "SUM": ("Sum", "No reduction in the batch dimension."),
    "SQUARED_DIFFERENCE": ("Squared-difference", ""),
    "TANH": ("Tanh", ""),
    "TRANSPOSE": ("Transpose", ""),
    "TRANSPOSE_CONV": ("TransposeConv", ""),
    # A model already compiled by edgetpu_compiler: its mapped part is this custom op.
    "edgetpu-custom-op": ("(compiled Edge TPU subgraph)", ""),
}

# Integer operands (shapes, axes, paddings, indexes) by input position; they must be constants.
_INDEX_INPUTS: dict[str, tuple[int, ...]] = {
    "RESHAPE": (1,), "MEAN": (1,), "SUM": (1,), "REDUCE_MAX": (1,), "REDUCE_MIN": (1,), "PAD": (1,),
    "STRIDED_SLICE": (1, 2, 3), "SLICE": (1, 2), "SPLIT": (0,), "EXPAND_DIMS": (1,), "TRANSPOSE": (1,),
    "TRANSPOSE_CONV": (0,), "RESIZE_BILINEAR": (1,), "RESIZE_NEAREST_NEIGHBOR": (1,),
}
# LSTM kernels carry int16 / int32 state and gate tensors: only their data input and output are checked.
_DATA_ONLY = {"LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "edgetpu-custom-op"}
_EIGHT_BIT = ("INT8", "UINT8")
_INTEGER = ("INT32", "INT64", "INT16", "INT8", "UINT8")

EDGETPU = "edgetpu"
AFTER_FIRST = "cpu (after first unsupported op)"


def op_problems(graph: Graph, op: OpInfo) -> list[str]:
    """Why `op` cannot run on the Edge TPU on its own (empty when it can)."""
    problems = []
    if op.name not in SUPPORTED_OPS:
        problems.append(f"{op.name} is not an Edge TPU operation")
    index_positions = _INDEX_INPUTS.get(op.name, ())
    bias_position = BIAS_INPUTS.get(op.name)
    by_dtype: dict[str, list[int]] = {}
    checked = [(p, i) for p, i in enumerate(op.inputs)] + [(None, i) for i in op.outputs]
    if op.name in _DATA_ONLY:
        checked = [(0, op.inputs[0])] if op.inputs else []
        checked += [(None, i) for i in op.outputs[:1]]
    for position, index in checked:
        if index < 0:
            continue
        tensor = graph.tensors[index]
        if position is not None and position in index_positions:
            if not tensor.is_constant:
                problems.append(f"operand tensor {index} is computed at run time (the Edge TPU needs constants)")
            elif tensor.dtype not in _INTEGER:
                by_dtype.setdefault(tensor.dtype, []).append(index)
            continue
        if position is not None and position == bias_position and tensor.is_constant and tensor.dtype == "INT32":
            continue
        if tensor.dtype not in _EIGHT_BIT:
            by_dtype.setdefault(tensor.dtype, []).append(index)
        if tensor.is_constant:
            continue
        if tensor.shape_signature is not None and any(d < 0 for d in tensor.shape_signature):
            problems.append(f"tensor {index} has a dynamic shape {list(tensor.shape_signature)} "
                            "(the Edge TPU needs static shapes)")
        if len(tensor.shape) > 3 and any(d > 1 for d in tensor.shape[:-3]):
            problems.append(f"tensor {index} has shape {list(tensor.shape)} (with more than 3 dimensions, only "
                            "the 3 innermost may be > 1)")
    for dtype, indexes in by_dtype.items():
        which = ", ".join(str(i) for i in indexes)
        problems.append(f"{dtype} tensor{'s' if len(indexes) > 1 else ''} {which} "
                        "(the Edge TPU needs int8 or uint8)")
    return problems


def compatibility_report(graph: Graph | str | Path) -> dict:
    """Per op: supported on its own, why not, and where it runs; plus the first
    fallback op and the shares of ops and MACs mapped to the Edge TPU."""
    if not isinstance(graph, Graph):
        graph = read_graph(graph)
    ops = graph.ops
    problems = [op_problems(graph, op) for op in ops]
    wrapping = float_io_wrapping(graph, problems)

    entries, first_fallback = [], None
    for k, op in enumerate(ops):
        reason = "; ".join(problems[k]) or None
        if k in wrapping:
            reason = f"{reason}; {wrapping[k]}" if reason else wrapping[k]
            status = f"cpu (unsupported: {reason})"
        elif first_fallback is not None:
            status = AFTER_FIRST
        elif reason:
            status = f"cpu (unsupported: {reason})"
            first_fallback = {"index": op.index, "name": op.name, "reason": reason}
        else:
            status = EDGETPU
        entries.append({
            "index": op.index,
            "name": op.name,
            "supported": not problems[k],
            "reason": reason,
            "status": status,
            "macs": op_macs(graph, op),
            "limitation": SUPPORTED_OPS.get(op.name, ("", ""))[1] or None,
        })

    mapped = [e for e in entries if e["status"] == EDGETPU]
    macs_total = sum(e["macs"] for e in entries)
    macs_mapped = sum(e["macs"] for e in mapped)
    return {
        "path": graph.path,
        "source": SOURCE,
        "ops": entries,
        "first_fallback": first_fallback,
        "ops_total": len(entries),
        "ops_on_edgetpu": len(mapped),
        "ops_on_cpu": len(entries) - len(mapped),
        "ops_share": len(mapped) / len(entries) if entries else 0.0,
        "macs_total": macs_total,
        "macs_on_edgetpu": macs_mapped,
        "macs_share": macs_mapped / macs_total if macs_total else None,  # None: no MAC-bearing op
        "fully_mapped": bool(entries) and len(mapped) == len(entries),
    }


def float_io_wrapping(graph: Graph, problems: list[list[str]]) -> dict[int, str]:
    """{op position: why it stays on the CPU} for the float I/O wrapping of an int8 graph: a leading run
    of QUANTIZE ops reading float graph inputs, a trailing run of DEQUANTIZE ops writing graph outputs."""
    ops = graph.ops
    graph_inputs, graph_outputs = set(graph.inputs), set(graph.outputs)
    head = 0
    while (head < len(ops) and ops[head].name == "QUANTIZE" and problems[head]
           and all(i in graph_inputs for i in ops[head].inputs if i >= 0)):
        head += 1
    tail = len(ops)
    while (tail > head and ops[tail - 1].name == "DEQUANTIZE"
           and all(i in graph_outputs for i in ops[tail - 1].outputs)):
        tail -= 1
    return {
        **{k: "the float->8-bit QUANTIZE of a graph input stays on the CPU, before the Edge TPU part"
           for k in range(head)},
        **{k: "the DEQUANTIZE of a graph output stays on the CPU, after the Edge TPU part"
           for k in range(tail, len(ops))},
    }


def op_check_summary(report: dict) -> str:
    """`compatibility_report` in one line: ops and MACs that map, and the first op that falls back."""
    macs = "n/a" if report["macs_share"] is None else f"{report['macs_share']:.0%}"
    fallback = report["first_fallback"]
    return (f"{report['ops_on_edgetpu']}/{report['ops_total']} ops mappable by Zazu's op check "
            f"({report['ops_share']:.0%} of ops, {macs} of MACs); first op falling back to the CPU: "
            + (f"#{fallback['index']} {fallback['name']} ({fallback['reason']})" if fallback else "none"))


# ---------------------------------------------------------------------------------------------------------
# The real compiler

_MEMORY_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
_LINES = {
    "input_model": r"Input model:\s*(.+)",
    "input_size": r"Input size:\s*(.+)",
    "output_model": r"Output model:\s*(.+)",
    "output_size": r"Output size:\s*(.+)",
    "on_chip_memory": r"On-chip memory used for caching model parameters:\s*(.+)",
    "on_chip_memory_remaining": r"On-chip memory remaining for caching model parameters:\s*(.+)",
    "off_chip_memory": r"Off-chip memory used for streaming uncached model parameters:\s*(.+)",
    "operation_log": r"Operation log:\s*(.+)",
}
_COUNTS = {
    "edgetpu_subgraphs": r"Number of Edge TPU subgraphs:\s*(\d+)",
    "total_ops": r"Total number of operations:\s*(\d+)",
    "ops_on_edgetpu": r"Number of operations that will run on Edge TPU:\s*(\d+)",
    "ops_on_cpu": r"Number of operations that will run on CPU:\s*(\d+)",
}
_MAPPED = "Mapped to Edge TPU"


def run_edgetpu_compiler(tflite_path: str | Path, out_dir: str | Path, timeout: float = 600) -> dict:
    """Run `edgetpu_compiler -s -o OUT_DIR TFLITE_PATH` and parse its log.

    Returns {"available": False, "message": ...} when the compiler is not on
    PATH. Otherwise "ok" says whether a compiled model was written; a failed
    run (non-zero exit, timeout) is an entry with "ok": False, "message" and
    "log_tail", not an exception. The full log goes to out_dir/edgetpu_compiler.log.
    """
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        return {"available": False,
                "message": "edgetpu_compiler is not on PATH; install Coral's edgetpu-compiler package "
                           "(x86-64 Debian/Ubuntu) to compile for the Edge TPU"}
    tflite_path = Path(tflite_path)
    if not tflite_path.is_file():
        raise ZazuError(f"TFLite file not found. Expected an existing .tflite file. Received: path={tflite_path}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [compiler, "-s", "-o", str(out_dir), str(tflite_path)]
    log_path = out_dir / "edgetpu_compiler.log"
    result: dict = {"available": True, "command": command, "log": str(log_path)}
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", timeout=timeout, check=False)
        log, returncode = done.stdout, done.returncode
    except subprocess.TimeoutExpired as error:
        out = error.stdout or ""
        log = out.decode(errors="replace") if isinstance(out, bytes) else out
        log_path.write_text(log, encoding="utf-8")
        return {**result, "ok": False, "returncode": None, "log_tail": _tail(log),
                "message": f"edgetpu_compiler did not finish within {timeout:g} s on {tflite_path}"}
    except OSError as error:
        return {**result, "ok": False, "returncode": None, "log_tail": [],
                "message": f"edgetpu_compiler could not be started ({error}) on {tflite_path}"}
    log_path.write_text(log, encoding="utf-8")
    result.update(parse_compiler_log(log))
    result["returncode"] = returncode
    compiled = _compiled_model(result.get("output_model"), out_dir, tflite_path)
    result["compiled_model"] = str(compiled) if compiled else None
    if returncode != 0:
        return {**result, "ok": False, "log_tail": _tail(log),
                "message": f"edgetpu_compiler exited with status {returncode} on {tflite_path}; see {log_path}"}
    if compiled is None:
        return {**result, "ok": False, "log_tail": _tail(log),
                "message": f"edgetpu_compiler exited 0 but wrote no compiled model for {tflite_path}; see {log_path}"}
    return {**result, "ok": True}


def parse_compiler_log(log: str) -> dict:
    """The numbers of an `edgetpu_compiler -s` log. Absent lines are None."""
    parsed: dict = {"version": None, "compile_ms": None}
    if match := re.search(r"Edge TPU Compiler version\s*(\S+)", log):
        parsed["version"] = match.group(1)
    if match := re.search(r"compiled successfully in\s*(\d+)\s*ms", log):
        parsed["compile_ms"] = int(match.group(1))
    for key, pattern in _LINES.items():
        match = re.search(pattern, log)
        parsed[key] = match.group(1).strip() if match else None
    for key in ("input_size", "output_size", "on_chip_memory", "on_chip_memory_remaining", "off_chip_memory"):
        parsed[f"{key}_bytes"] = _bytes(parsed[key])
    for key, pattern in _COUNTS.items():
        match = re.search(pattern, log)
        parsed[key] = int(match.group(1)) if match else None

    operators = []
    lines = log.splitlines()
    header = next((k for k, line in enumerate(lines) if re.match(r"\s*Operator\s+Count\s+Status\s*$", line)), None)
    if header is not None:
        for line in lines[header + 1:]:
            if not line.strip():
                if operators:
                    break
                continue
            match = re.match(r"\s*(\S+)\s+(\d+)\s+(.+?)\s*$", line)
            if not match:
                break
            operators.append({"operator": match.group(1), "count": int(match.group(2)), "status": match.group(3)})
    parsed["operators"] = operators
    # Older logs leave out the two per-device counts: derive them from the table.
    if operators and parsed["ops_on_edgetpu"] is None:
        parsed["ops_on_edgetpu"] = sum(o["count"] for o in operators if o["status"] == _MAPPED)
    if operators and parsed["ops_on_cpu"] is None:
        parsed["ops_on_cpu"] = sum(o["count"] for o in operators if o["status"] != _MAPPED)
    return parsed


def _bytes(text: str | None) -> int | None:
    match = re.fullmatch(r"([\d.]+)\s*(B|KiB|MiB|GiB)", text or "")
    return round(float(match.group(1)) * _MEMORY_UNITS[match.group(2)]) if match else None


def _compiled_model(stated: str | None, out_dir: Path, source: Path) -> Path | None:
    candidates = [Path(stated)] if stated else []
    if stated and not Path(stated).is_absolute():
        candidates.append(out_dir / Path(stated).name)
    candidates.append(out_dir / f"{source.stem}_edgetpu.tflite")
    return next((c for c in candidates if c.is_file()), None)


def _tail(log: str, lines: int = 15) -> list[str]:
    return [line for line in log.splitlines() if line.strip()][-lines:]
