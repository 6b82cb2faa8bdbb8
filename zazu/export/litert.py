"""Run a .tflite file with LiteRT (`ai_edge_litert`), quantizing inputs and
dequantizing outputs so callers always pass and get float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class TFLiteRunner:
    def __init__(self, path: str | Path, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        from zazu.errors import ZazuError
        from zazu.export.metadata import verify_tflite_seal

        self.path = Path(path)
        verify_tflite_seal(self.path)  # a damaged file is refused before LiteRT reads it
        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except Exception as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ZazuError(f"{self.path}: LiteRT cannot load it ({first}). Expected a .tflite exported by "
                            "Zazu.") from None
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = _in_model_order(self.interpreter)

    @property
    def input_dtype(self):
        return self.input["dtype"]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.input["shape"])

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        dtype = self.input["dtype"]
        if np.issubdtype(dtype, np.integer):
            scale, zero_point = self.input["quantization"]
            info = np.iinfo(dtype)
            batch = np.clip(np.round(batch / scale + zero_point), info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], batch.astype(dtype))
        self.interpreter.invoke()
        results = []
        for detail in self.outputs:
            out = self.interpreter.get_tensor(detail["index"])
            scale, zero_point = detail["quantization"]
            if np.issubdtype(out.dtype, np.integer) and scale:
                out = (out.astype(np.float32) - zero_point) * scale
            results.append(out)
        return results


def _in_model_order(interpreter) -> list[dict]:
    """Output details in the Keras model's output order.

    The interpreter lists outputs in tensor order, which need not be the
    model's (two [1, h, w, 4] heads can come swapped); the SavedModel signature
    names them output_0, output_1, ... in model order."""
    details = {d["index"]: d for d in interpreter.get_output_details()}
    try:
        signatures = interpreter._get_full_signature_list()  # LiteRT has no public accessor for the indexes
        outputs = next(iter(signatures.values()))["outputs"]
    except (AttributeError, StopIteration, KeyError):
        return list(details.values())

    def position(name: str) -> tuple[int, str]:
        suffix = name.rsplit("_", 1)[-1]
        return (int(suffix) if suffix.isdigit() else 0, name)

    return [details[outputs[name]] for name in sorted(outputs, key=position)]
