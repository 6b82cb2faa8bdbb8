"""The `export` block of the config: which formats, how to quantize, how to profile."""

from __future__ import annotations

from typing import Any

from zazu.config_rules import Rule, boolean, check_rules, choice, integer, nullable
from zazu.errors import ConfigError
from zazu.nn.int8_weights import WEIGHT_ROUNDINGS
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
# when a trial is fine-tuned for int8 (zazu.adapters.quantization_aware); "never", not "off": YAML reads off as false
QUANTIZATION_AWARE_WHEN = ("auto", "never", "always")

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


# The block's keys and what each must be (`zazu.config.CONFIG_RULES` holds them as `export.<key>`).
# `formats` (a list, or one comma-separated string from the CLI) and `tflite_converter` (settings
# with their own types) are checked in `resolve_export_options`.
EXPORT_RULES: dict[str, Rule] = {
    "int8_io": choice(IO_TYPES),
    "calibration_images": integer(1),
    "profile_runs": integer(1),
    "num_threads": nullable(integer(1)),
    "edgetpu_compiler": boolean(),
    "profile_trials": boolean(),
    "quantization_aware": choice(QUANTIZATION_AWARE_WHEN),
    "quantization_aware_epochs": integer(1),
    "bias_correction": boolean(),
    "weight_rounding": choice(WEIGHT_ROUNDINGS),
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
    check_rules(block, EXPORT_RULES, "export.")
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
