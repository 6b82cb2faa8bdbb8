"""The `export` block of the config: which formats, how to quantize, how to profile."""

from __future__ import annotations

from typing import Any

from zazu.errors import ConfigError
from zazu.suggest import did_you_mean

# Every format `zazu export` can write, in the order they are written.
FORMATS = ("keras", "saved_model", "float32", "float16", "dynamic", "int8", "onnx")
TFLITE_VARIANTS = ("float32", "float16", "dynamic", "int8")
FILE_NAMES = {
    "keras": "model.keras",
    "saved_model": "saved_model",
    "float32": "model_float32.tflite",
    "float16": "model_float16.tflite",
    "dynamic": "model_dynamic.tflite",
    "int8": "model_int8.tflite",
    "onnx": "model.onnx",
}
IO_TYPES = ("int8", "uint8")

# TFLiteConverter attributes a config may set (`export.tflite_converter`), with their types.
# Quantization itself (optimizations, representative data, int8 ops and I/O types) follows the variant.
CONVERTER_SETTINGS: dict[str, type] = {
    "allow_custom_ops": bool,
    "experimental_new_converter": bool,
    "experimental_new_quantizer": bool,
    "experimental_enable_resource_variables": bool,
    "exclude_conversion_metadata": bool,
    "_experimental_disable_per_channel": bool,
}


def resolve_export_options(block: dict[str, Any]) -> dict[str, Any]:
    """Validate the `export` config block (already merged with the defaults); returns it normalised."""
    formats = block["formats"]
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not isinstance(formats, list) or not formats:
        raise ConfigError(f"`export.formats` must be a non-empty list of {', '.join(FORMATS)}. "
                          f"Received: formats={block['formats']!r}")
    for name in formats:
        if name not in FORMATS:
            raise ConfigError(f"`export.formats`: unknown format {name!r}.{did_you_mean(str(name), FORMATS)} "
                              f"Expected some of: {', '.join(FORMATS)}.")
    if block["int8_io"] not in IO_TYPES:
        raise ConfigError(f"`export.int8_io` must be one of {', '.join(IO_TYPES)}. "
                          f"Received: int8_io={block['int8_io']!r}")
    for key, minimum in (("calibration_images", 1), ("profile_runs", 1)):
        value = block[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"`export.{key}` must be an integer >= {minimum}. Received: {key}={value!r}")
    threads = block["num_threads"]
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"`export.num_threads` must be an integer >= 1 or null. Received: num_threads={threads!r}")
    for key in ("edgetpu_compiler", "profile_trials"):
        if not isinstance(block[key], bool):
            raise ConfigError(f"`export.{key}` must be true or false. Received: {key}={block[key]!r}")
    converter = block["tflite_converter"] or {}
    if not isinstance(converter, dict):
        raise ConfigError(f"`export.tflite_converter` must be a mapping of TFLiteConverter settings. "
                          f"Received: {converter!r}")
    for key, value in converter.items():
        if key not in CONVERTER_SETTINGS:
            raise ConfigError(f"`export.tflite_converter`: unknown setting `{key}`.{did_you_mean(str(key), CONVERTER_SETTINGS)}"
                              f" Valid settings: {', '.join(CONVERTER_SETTINGS)}.")
        if not isinstance(value, CONVERTER_SETTINGS[key]):
            raise ConfigError(f"`export.tflite_converter.{key}` must be a {CONVERTER_SETTINGS[key].__name__}. "
                              f"Received: {key}={value!r}")
    # Order as FORMATS, without repeats, so files are written the same way every time.
    return {**block, "formats": [f for f in FORMATS if f in formats]}
