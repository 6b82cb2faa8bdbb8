"""A model's weights as its int8 conversion should see them, for the time of the conversion: each layer's weights
rounded as `zazu.nn.weight_rounding` chooses (set on the converter's grid, where its nearest rounding keeps
them) and each bias corrected for the output shift that rounding makes (`zazu.nn.bias_correction`), both
measured on a few calibration images; the model's own weights put back after, whatever happens.

Imports neither Keras nor TensorFlow at import time (`zazu.export.options` reads its `WEIGHT_ROUNDINGS`).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

WEIGHT_ROUNDINGS = ("calibrated", "nearest")  # `export.weight_rounding`


@contextmanager
def int8_weights(model, images, per_channel: bool = True, weight_rounding: str = "nearest",
                 correct_bias: bool = True):
    """Within the block, `model`'s kernels are rounded as `weight_rounding` says ("nearest": left as they are,
    the converter rounds them; "calibrated": chosen against `images`) and, with `correct_bias`, its biases (and
    folded batch norms' betas) carry the correction of that rounding's shift, measured on `images` (an iterable
    of float32 batches). Yields {"rounded": layers whose rounding was chosen, "error_power": their output error
    power against nearest's, "corrected": biases corrected}."""
    if weight_rounding not in WEIGHT_ROUNDINGS:
        raise ValueError(f"Expected weight_rounding to be one of {WEIGHT_ROUNDINGS}. Received: "
                         f"weight_rounding={weight_rounding!r}")
    from zazu.nn.bias_correction import SHIFT_IMAGES, correction_targets, measure_shifts

    targets = correction_targets(model, per_channel)
    images = [np.asarray(batch, np.float32) for _, batch in zip(range(SHIFT_IMAGES), images)]
    report = {"rounded": 0, "error_power": 1.0, "corrected": 0}
    if weight_rounding == "calibrated" and targets and images:
        from zazu.nn.weight_rounding import calibrated_rounding

        targets, rounding = calibrated_rounding(model, images, targets, per_channel, centred=correct_bias)
        report.update(rounded=rounding["layers"], error_power=rounding["error_power"])
    # measured on the model as trained: each layer's float inputs
    shifts = measure_shifts(model, images, targets) if correct_bias and targets and images else []
    saved = []
    try:
        if weight_rounding == "calibrated":
            for target in targets:
                _set(saved, target.layer.kernel, _on_grid(target))
        for target, shift in zip(targets, shifts):
            variable = target.batch_norm.beta if target.batch_norm is not None else target.layer.bias
            if variable is None:  # a batch norm without a beta (center=False): nowhere to put it
                continue
            value = np.asarray(variable)
            _set(saved, variable, value - shift.reshape(value.shape).astype(value.dtype))
            report["corrected"] += 1
        yield report
    finally:
        for variable, value in reversed(saved):
            variable.assign(value)


def _on_grid(target) -> np.ndarray:
    """The layer's kernel whose folded weights are the chosen grid values (folded + delta); where a batch norm
    scales a channel by 0, the kernel as it was (its folded weights are 0 whatever it holds)."""
    import keras

    from zazu.nn.bias_correction import batch_norm_scale, output_shape

    kernel = np.asarray(target.layer.kernel)
    depthwise = isinstance(target.layer, keras.layers.DepthwiseConv2D)
    scale = np.ones(1) if target.batch_norm is None else \
        batch_norm_scale(target.batch_norm).reshape(output_shape(kernel, depthwise))
    safe = np.where(scale != 0, scale, 1.0)
    return np.where(scale != 0, (target.folded + target.delta) / safe, kernel).astype(kernel.dtype)


def _set(saved: list, variable, value) -> None:
    saved.append((variable, np.asarray(variable)))
    variable.assign(value)
