"""zazu.nn.efficientnet_lite: structure, feature maps and block freezing (random weights, tiny inputs)."""

from __future__ import annotations

import pytest

from zazu.nn.efficientnet_lite import FEATURE_STRIDES, VARIANTS, efficientnet_lite, num_blocks, set_trainable_top_blocks


def test_variants_and_block_counts():
    assert {v: (c["resolution"], c["dropout"]) for v, c in VARIANTS.items()} == {
        "efficientnet_lite0": (224, 0.2), "efficientnet_lite1": (240, 0.2), "efficientnet_lite2": (260, 0.3)}
    assert [num_blocks(v) for v in sorted(VARIANTS)] == [16, 21, 21]
    with pytest.raises(ValueError, match="Received: variant='efficientnet_lite9'"):
        num_blocks("efficientnet_lite9")


@pytest.mark.parametrize("variant, channels", [("efficientnet_lite0", (24, 40, 112, 1280)),
                                               ("efficientnet_lite2", (24, 48, 120, 1280))])
def test_feature_maps_at_strides_4_8_16_32(variant, channels):
    model = efficientnet_lite(variant, (64, 96, 3))
    assert FEATURE_STRIDES == (4, 8, 16, 32)
    shapes = [tuple(t.shape[1:]) for t in model.outputs]
    assert shapes == [(64 // s, 96 // s, c) for s, c in zip(FEATURE_STRIDES, channels)]
    last = num_blocks(variant) - 1
    assert model.get_layer("normalize_offset").offset == pytest.approx(-127)  # (x - 127) / 128
    assert model.get_layer("normalize").scale == pytest.approx(1 / 128)
    assert model.get_layer("normalize").offset == pytest.approx(0)
    # the stride-32 map is the head; the stride-16 one is the last block before the second-to-last stage
    assert model.outputs[3] is model.get_layer("head_relu").output
    for name in ("stem_conv", "stem_bn", "stem_relu", "block0_dwconv", "block1_expand_relu",
                 f"block{last}_project_bn", "head_conv", "head_bn"):
        model.get_layer(name)
    assert model.get_layer("block0_dwconv").kernel.shape == (3, 3, 32, 1)
    assert all(layer.epsilon == 1e-3 and layer.momentum == 0.99 for layer in model.layers
               if layer.__class__.__name__ == "BatchNormalization")


def test_residual_adds_only_where_shapes_allow():
    model = efficientnet_lite("efficientnet_lite0", (32, 32, 3))
    adds = sorted(int(layer.name[5:].split("_")[0]) for layer in model.layers if layer.name.endswith("_add"))
    # B0 table: first block of each stage changes stride or channels; block 0 goes 32 -> 16
    assert adds == [2, 4, 6, 7, 9, 10, 12, 13, 14]


def test_top_gives_raw_logits():
    model = efficientnet_lite("efficientnet_lite1", (32, 32, 3), include_top=True)
    assert tuple(model.output.shape) == (None, 1000)
    assert model.get_layer("logits").activation.__name__ == "linear"
    assert model.get_layer("top_dropout").rate == 0.2


def test_set_trainable_top_blocks():
    model = efficientnet_lite("efficientnet_lite0", (32, 32, 3))
    set_trainable_top_blocks(model, 2)
    trainable = sorted(layer.name for layer in model.layers if layer.trainable and layer.weights)
    assert trainable == ["block14_dwconv", "block14_expand_conv", "block14_project_conv", "block15_dwconv",
                         "block15_expand_conv", "block15_project_conv", "head_conv"]
    assert not any(layer.trainable for layer in model.layers if "bn" in layer.name)
    set_trainable_top_blocks(model, 16)
    assert model.get_layer("block0_dwconv").trainable and model.get_layer("stem_conv").trainable is False
    assert not model.get_layer("block0_dw_bn").trainable
    set_trainable_top_blocks(model, 0)
    assert model.trainable_weights == []
    for bad in (-1, 17, 1.5, True):
        with pytest.raises(ValueError, match=f"Expected blocks between 0 and 16 .*Received: blocks={bad!r}"):
            set_trainable_top_blocks(model, bad)
