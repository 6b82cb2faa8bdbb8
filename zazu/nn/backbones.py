"""Backbones: one registry that detectors, segmenters and classifiers select by name.

Every backbone takes float RGB pixels in [0, 255] (it normalises them itself, as
its weights expect) and returns feature maps at strides 4, 8, 16 and 32 (dict
stride -> tensor). Everything is plain Conv2D / DepthwiseConv2D / BatchNorm /
ReLU(6) / pooling, which quantizes to int8 and maps to an Edge TPU.

A pretrained backbone is a nested `keras.Model` named `backbone` inside the
zoo model, so the transfer-learning phases (`zazu.adapters.transfer`) can freeze
it and unfreeze its top blocks without knowing which backbone it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zazu.nn.layers import normalize_pixels, set_batchnorm_momentum, upsample_nearest

BACKBONE_LAYER = "backbone"  # the nested model's name inside a zoo model
FEATURE_STRIDES = (4, 8, 16, 32)


def conv_bn_relu(x, filters: int, kernel: int = 3, stride: int = 1, name: str | None = None):
    from keras import layers

    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=None if name is None else f"{name}_bn")(x)
    return layers.ReLU(6.0, name=None if name is None else f"{name}_relu")(x)


def simple_backbone(x, width: int = 16, blocks_per_stage: int = 1) -> dict[int, object]:
    """A small plain CNN on normalised pixels: a stride-2 stem, then a stride-2 stage per level."""
    features = {}
    x = conv_bn_relu(x, width, stride=2)
    for level, stride in enumerate(FEATURE_STRIDES):
        filters = width * 2 ** (level + 1)
        x = conv_bn_relu(x, filters, stride=2)
        for _ in range(blocks_per_stage):
            x = conv_bn_relu(x, filters)
        features[stride] = x
    return features


MOBILENET_V2_TAPS = {4: "block_3_expand_relu", 8: "block_6_expand_relu", 16: "block_13_expand_relu",
                     32: "out_relu"}


@dataclass(frozen=True)
class Backbone:
    """One entry of the registry. `build(pixels, hp)` -> {stride: feature map}. `pretrained`: where
    `weights: imagenet` comes from ("package": an installed pip package, offline; "keras": Keras's
    download, needs a network; None: no pretrained weights). `blocks`: how many blocks
    `set_trainable_top_blocks` can unfreeze (0 for a backbone that is never frozen). `defaults`: the
    hyperparameters only this backbone reads, with their values when a model's entry does not set them."""

    name: str
    build: Callable
    pretrained: str | None = None
    blocks: Callable[[], int] = lambda: 0
    set_trainable_top_blocks: Callable | None = None
    defaults: dict = field(default_factory=dict)


def _simple(pixels, hp):
    return simple_backbone(normalize_pixels(pixels), int(hp["backbone_width"]), int(hp["backbone_blocks"]))


def _mobilenet_v2(pixels, hp):
    import keras

    base = keras.applications.MobileNetV2(input_shape=tuple(pixels.shape[1:]), alpha=float(hp["alpha"]),
                                          include_top=False, weights=hp["weights"])
    set_batchnorm_momentum(base)
    taps = keras.Model(base.input, [base.get_layer(MOBILENET_V2_TAPS[s]).output for s in FEATURE_STRIDES],
                       name="mobilenet_v2_features")
    return dict(zip(FEATURE_STRIDES, taps(normalize_pixels(pixels))))


def _efficientnet_lite(variant: str):
    def build(pixels, hp):
        from zazu.nn.efficientnet_lite import efficientnet_lite
        from zazu.nn.pretrained import pretrained_efficientnet_lite

        shape = tuple(pixels.shape[1:])
        model = (efficientnet_lite(variant, shape, name=BACKBONE_LAYER) if hp["weights"] is None else
                 pretrained_efficientnet_lite(variant, shape, weights=hp["weights"], name=BACKBONE_LAYER))
        return dict(zip(FEATURE_STRIDES, model(pixels)))

    def blocks():
        from zazu.nn.efficientnet_lite import num_blocks

        return num_blocks(variant)

    def set_trainable(backbone, count):
        from zazu.nn.efficientnet_lite import set_trainable_top_blocks

        set_trainable_top_blocks(backbone, count)

    return Backbone(variant, build, pretrained="package", blocks=blocks, set_trainable_top_blocks=set_trainable)


BACKBONES: dict[str, Backbone] = {
    "simple": Backbone("simple", _simple, defaults={"backbone_width": 16, "backbone_blocks": 1}),
    "mobilenet_v2": Backbone("mobilenet_v2", _mobilenet_v2, pretrained="keras", defaults={"alpha": 0.35}),
    **{f"efficientnet_lite{i}": _efficientnet_lite(f"efficientnet_lite{i}") for i in range(3)},
}


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone. Expected one of {', '.join(BACKBONES)}. Received: backbone={name!r}")
    return BACKBONES[name]


def check_pretrained_weights(model_name: str, values: dict, searched: dict[str, list]) -> None:
    """Before a search: every (backbone, weights) a model may use, from its fixed values and its
    searched choices, can be had (`zazu.nn.pretrained.check_weights_source`). Raises `WeightsError`
    naming the package to install or the missing file, with the model's name."""
    from zazu.errors import WeightsError
    from zazu.nn.pretrained import check_weights_source

    backbones = searched.get("backbone", [values.get("backbone")])
    for weights in searched.get("weights", [values.get("weights")]):
        for name in backbones:
            if name in BACKBONES and BACKBONES[name].pretrained == "package":
                try:
                    check_weights_source(name, weights)
                except WeightsError as e:
                    raise WeightsError(f"Zoo model `{model_name}`: {e}") from None


def build_backbone(name: str, pixels, hp: dict) -> dict[int, object]:
    """Feature maps {4, 8, 16, 32: tensor} of backbone `name` on float pixels [0, 255], its own
    hyperparameters read from `hp`, else its `defaults`."""
    entry = get_backbone(name)
    return entry.build(pixels, {"weights": None, **entry.defaults, **hp})


def fpn(features: dict[int, object], strides: tuple[int, ...], channels: int) -> dict[int, object]:
    """Feature pyramid: 1x1 laterals, top-down nearest upsampling and adds, 3x3 smoothing. Strides
    beyond the backbone's deepest (e.g. 64) are stride-2 convolutions on the level below them."""
    from keras import layers

    out = {}
    top = None
    for stride in sorted((s for s in strides if s in features), reverse=True):
        lateral = layers.Conv2D(channels, 1, padding="same")(features[stride])
        if top is not None:
            # not UpSampling2D: it converts to RESHAPE + TILE, which an Edge TPU cannot run
            lateral = layers.Add()([lateral, upsample_nearest(top, (lateral.shape[1], lateral.shape[2]))])
        top = lateral
        out[stride] = conv_bn_relu(lateral, channels)
    for stride in sorted(s for s in strides if s not in features):
        if stride // 2 not in out:
            raise ValueError(f"fpn: no level below stride {stride}. Expected strides that double from "
                             f"{sorted(features)}. Received: strides={tuple(strides)}")
        out[stride] = conv_bn_relu(out[stride // 2], channels, stride=2)
    return out
