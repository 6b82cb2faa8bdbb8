"""EfficientNet-Lite0/1/2 (Keras 3 functional), layer for layer compatible with the ImageNet weights.

Lite differs from EfficientNet-B0..B2 in what quantizes well to int8 and runs on an Edge TPU:
ReLU6 instead of swish, no squeeze-and-excitation, and a stem, head and first/last stage that are
not scaled. The model takes float RGB pixels in [0, 255]; its first layer normalizes them as the
weights expect, (x - 127) / 128, so exported .tflite files take raw pixels.

Layer names are stable (`stem_*`, `block{i}_*`, `head_*`, `logits`) so fine-tuning can pick blocks
and the converter in `zazu.nn.pretrained` can find each tensor's layer.
"""

from __future__ import annotations

import math

from zazu.nn.layers import normalize_pixels

VARIANTS = {
    "efficientnet_lite0": {"width": 1.0, "depth": 1.0, "resolution": 224, "dropout": 0.2},
    "efficientnet_lite1": {"width": 1.0, "depth": 1.1, "resolution": 240, "dropout": 0.2},
    "efficientnet_lite2": {"width": 1.1, "depth": 1.2, "resolution": 260, "dropout": 0.3},
}

# Strides of the 4 feature maps returned with include_top=False, in output order.
FEATURE_STRIDES = (4, 8, 16, 32)

# EfficientNet-B0 stages: (repeats, kernel, stride, expand ratio, output filters).
B0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
             (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_FILTERS = 32
HEAD_FILTERS = 1280
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
CLASSES = 1000


def _variant(variant: str) -> dict:
    if variant not in VARIANTS:
        raise ValueError(f"Unknown EfficientNet-Lite variant. Expected one of {', '.join(VARIANTS)}. "
                         f"Received: variant={variant!r}")
    return VARIANTS[variant]


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Returns `filters * width` rounded to the nearest multiple of `divisor`, never more than 10% below."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


def block_specs(variant: str) -> list[dict]:
    """Returns one dict per block (kernel, stride, expand, in/out filters, stage), first to last."""
    cfg = _variant(variant)
    specs = []
    in_filters = STEM_FILTERS
    last = len(B0_STAGES) - 1
    for stage, (repeats, kernel, stride, expand, out) in enumerate(B0_STAGES):
        out_filters = round_filters(out, cfg["width"])
        # Lite keeps the first and last stage at one block: deeper ones cost latency for little accuracy.
        count = repeats if stage in (0, last) else int(math.ceil(cfg["depth"] * repeats))
        for r in range(count):
            specs.append({"kernel": kernel, "stride": stride if r == 0 else 1, "expand": expand,
                          "in": in_filters, "out": out_filters, "stage": stage})
            in_filters = out_filters
    return specs


def num_blocks(variant: str) -> int:
    """Returns the number of MBConv blocks of `variant` (16, 21, 21)."""
    return len(block_specs(variant))


def efficientnet_lite(variant: str, input_shape=(224, 224, 3), include_top: bool = False, name: str | None = None):
    """Build EfficientNet-Lite `variant` for float RGB pixels in [0, 255] of `input_shape`.

    Returns a `keras.Model`. With `include_top`, its output is the 1000 ImageNet logits (no softmax);
    without, a list of 4 feature maps at strides `FEATURE_STRIDES`: the last blocks of the stride-4,
    8 and 16 stages, then the head conv (1280 channels) at stride 32. Its weights are random:
    `zazu.nn.pretrained.load_weights` fills them (this module is below the weights, which need it)."""
    import keras
    from keras import layers

    cfg = _variant(variant)
    inputs = keras.Input(shape=tuple(input_shape), name="pixels")
    x = normalize_pixels(inputs, center=127.0)  # (x - 127) / 128, as the pretrained weights were trained
    x = _conv_bn_relu(x, STEM_FILTERS, 3, 2, "stem_conv", "stem_bn", "stem_relu")
    taps = {}
    stride = 2
    for i, spec in enumerate(block_specs(variant)):
        x = _mbconv(x, spec, f"block{i}")
        stride *= spec["stride"]
        taps[stride] = x  # the last block at each stride wins
    x = _conv_bn_relu(x, HEAD_FILTERS, 1, 1, "head_conv", "head_bn", "head_relu")
    taps[32] = x
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(cfg["dropout"], name="top_dropout")(x)
        outputs = layers.Dense(CLASSES, name="logits")(x)
    else:
        outputs = [taps[s] for s in FEATURE_STRIDES]
    return keras.Model(inputs, outputs, name=name or variant)


def _conv_bn_relu(x, filters: int, kernel: int, stride: int, conv: str, bn: str, relu: str):
    from keras import layers

    # padding="same" is TensorFlow SAME (extra row/column at the bottom/right), as the weights were trained.
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=conv)(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=bn)(x)
    return layers.ReLU(6.0, name=relu)(x)


def _mbconv(inputs, spec: dict, prefix: str):
    """Inverted residual: 1x1 expand (skipped when the ratio is 1), depthwise, 1x1 linear projection."""
    from keras import layers

    x = inputs
    if spec["expand"] != 1:
        x = _conv_bn_relu(x, spec["in"] * spec["expand"], 1, 1, f"{prefix}_expand_conv", f"{prefix}_expand_bn",
                          f"{prefix}_expand_relu")
    x = layers.DepthwiseConv2D(spec["kernel"], strides=spec["stride"], padding="same", use_bias=False,
                               name=f"{prefix}_dwconv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{prefix}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{prefix}_dw_relu")(x)
    x = layers.Conv2D(spec["out"], 1, padding="same", use_bias=False, name=f"{prefix}_project_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{prefix}_project_bn")(x)
    if spec["stride"] == 1 and spec["in"] == spec["out"]:
        x = layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


def set_trainable_top_blocks(backbone, blocks: int) -> None:
    """Freeze `backbone` except the convolutions of its last `blocks` blocks and the head conv.

    BatchNormalization layers always stay frozen, so in Keras 3 they run in inference mode with the
    pretrained statistics: the usual recipe for fine-tuning on a small dataset. `blocks=0` freezes
    everything. Returns None."""
    import keras

    total = sum(1 for layer in backbone.layers if layer.name.endswith("_dwconv") and layer.name.startswith("block"))
    if isinstance(blocks, bool) or not isinstance(blocks, int) or not 0 <= blocks <= total:
        raise ValueError(f"Expected blocks between 0 and {total} (the blocks of {backbone.name}). "
                         f"Received: blocks={blocks!r}")
    first = total - blocks
    for layer in backbone.layers:
        layer.trainable = blocks > 0 and _trainable(layer, first, keras)


def _trainable(layer, first: int, keras) -> bool:
    if isinstance(layer, keras.layers.BatchNormalization):
        return False
    if layer.name == "head_conv":
        return True
    if not layer.name.startswith("block"):
        return False
    index = layer.name[len("block"):].split("_", 1)[0]
    return index.isdigit() and int(index) >= first and isinstance(
        layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))
