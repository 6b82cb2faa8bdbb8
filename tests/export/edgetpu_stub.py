"""A stand-in `edgetpu_compiler` that records its arguments and prints a log in the real compiler's format
(lines as printed by Edge TPU Compiler 16.0)."""

from __future__ import annotations

import os
import sys

STUB_LOG = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 52 ms.

Input model: {model}
Input size: 1.29MiB
Output model: {compiled}
Output size: 1.45MiB
On-chip memory used for caching model parameters: 1.23MiB
On-chip memory remaining for caching model parameters: 6.54MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 31
Operation log: {oplog}

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will \
instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported \
by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: 30
Number of operations that will run on CPU: 1

Operator                       Count      Status

CONV_2D                        12         Mapped to Edge TPU
DEPTHWISE_CONV_2D              12         Mapped to Edge TPU
ADD                            5          Mapped to Edge TPU
MEAN                           1          Mapped to Edge TPU
QUANTIZE                       1          Operation is otherwise supported, but not mapped due to some unspecified \
limitation
Compilation child process completed within timeout period.
Compilation succeeded!
"""

_FAILURE_LOG = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.
ERROR: Didn't find op for builtin opcode 'SIN' version '1'. An older version of this builtin might be supported.
ERROR: Registration failed.

Invalid model: sin_int8.tflite
Model could not be parsed
Compilation failed!
"""

_STUB = """#!{python}
import json, pathlib, shutil, sys
args = sys.argv[1:]
pathlib.Path({record!r}).write_text(json.dumps(args))
out = pathlib.Path(args[args.index("-o") + 1])
model = pathlib.Path(args[-1])
compiled = out / (model.stem + "_edgetpu.tflite")
if {exit_code} == 0:
    shutil.copyfile(model, compiled)
    print({log!r}.format(model=model, compiled=compiled, oplog=out / (model.stem + "_edgetpu.log")))
else:
    print({failure!r})
sys.exit({exit_code})
"""


def install_stub(folder, monkeypatch, exit_code=0):
    record = folder / "argv.json"
    stub = folder / "edgetpu_compiler"
    stub.write_text(_STUB.format(python=sys.executable, record=str(record), exit_code=exit_code,
                                 log=STUB_LOG, failure=_FAILURE_LOG))
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return record
