"""Backbones that return feature maps at strides 4, 8, 16 and 32 (dict stride -> tensor).

Everything is plain Conv2D / DepthwiseConv2D / BatchNorm / ReLU(6) / pooling, which
quantizes to int8 and maps to an Edge TPU.
"""

from __future__ import annotations

from zazu.nn.layers import set_batchnorm_momentum, upsample_nearest


def conv_bn_relu(x, filters: int, kernel: int = 3, stride: int = 1, name: str | None = None):
    from keras import layers

    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=None if name is None else f"{name}_bn")(x)
    return layers.ReLU(6.0, name=None if name is None else f"{name}_relu")(x)


def simple_backbone(x, width: int = 16, blocks_per_stage: int = 1) -> dict[int, object]:
    """A small plain CNN: a stride-2 stem, then a stride-2 stage per level (4, 8, 16, 32)."""
    features = {}
    x = conv_bn_relu(x, width, stride=2)
    for level, stride in enumerate((4, 8, 16, 32)):
        filters = width * 2 ** (level + 1)
        x = conv_bn_relu(x, filters, stride=2)
        for _ in range(blocks_per_stage):
            x = conv_bn_relu(x, filters)
        features[stride] = x
    return features


MOBILENET_V2_TAPS = {4: "block_3_expand_relu", 8: "block_6_expand_relu", 16: "block_13_expand_relu",
                     32: "out_relu"}


def mobilenet_v2_backbone(x, input_shape, alpha: float = 0.35, weights=None) -> dict[int, object]:
    """keras.applications MobileNetV2 (from scratch unless `weights`), tapped at 4 strides."""
    import keras

    base = keras.applications.MobileNetV2(input_shape=input_shape, alpha=alpha, include_top=False, weights=weights)
    set_batchnorm_momentum(base)
    taps = keras.Model(base.input, [base.get_layer(MOBILENET_V2_TAPS[s]).output for s in (4, 8, 16, 32)],
                       name="mobilenet_v2_features")
    return dict(zip((4, 8, 16, 32), taps(x)))


def build_backbone(name: str, x, input_shape, hp: dict) -> dict[int, object]:
    if name == "simple":
        return simple_backbone(x, int(hp.get("backbone_width", 16)), int(hp.get("backbone_blocks", 1)))
    if name == "mobilenet_v2":
        return mobilenet_v2_backbone(x, input_shape, float(hp.get("alpha", 0.35)), hp.get("weights"))
    raise ValueError(f"Unknown backbone. Expected simple or mobilenet_v2. Received: backbone={name!r}")


def fpn(features: dict[int, object], strides: tuple[int, ...], channels: int) -> dict[int, object]:
    """Feature pyramid: 1x1 laterals, top-down nearest upsampling and adds, 3x3 smoothing."""
    from keras import layers

    out = {}
    top = None
    for stride in sorted(strides, reverse=True):
        lateral = layers.Conv2D(channels, 1, padding="same")(features[stride])
        if top is not None:
            # not UpSampling2D: it converts to RESHAPE + TILE, which an Edge TPU cannot run
            lateral = layers.Add()([lateral, upsample_nearest(top, (lateral.shape[1], lateral.shape[2]))])
        top = lateral
        out[stride] = conv_bn_relu(lateral, channels)
    return out
