"""Transfer learning: the phases a trial trains in, what each lets learn, and the pooled-feature cache."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.adapters import pooled_features, transfer


def test_from_scratch_is_one_phase_and_pretrained_is_frozen_then_fine_tuned():
    hp = {"epochs": 10, "learning_rate": 0.01, "freeze_epochs": 4, "fine_tune_blocks": 3, "fine_tune_lr": 0.001}
    assert transfer.plan_phases(hp, pretrained=False) == [transfer.Phase("train", 10, 0.01, None)]
    assert transfer.plan_phases(hp, pretrained=True) == [transfer.Phase("frozen", 4, 0.01, 0),
                                                         transfer.Phase("fine_tune", 10, 0.001, 3)]


def test_no_fine_tune_blocks_keeps_the_backbone_frozen_for_every_epoch():
    hp = {"epochs": 10, "learning_rate": 0.01, "freeze_epochs": 4, "fine_tune_blocks": 0}
    assert transfer.plan_phases(hp, pretrained=True) == [transfer.Phase("frozen", 10, 0.01, 0)]


def test_fine_tune_lr_defaults_to_a_tenth_and_freeze_epochs_to_half():
    phases = transfer.plan_phases({"epochs": 8, "learning_rate": 0.002, "fine_tune_blocks": 2}, pretrained=True)
    assert [(p.name, p.end_epoch) for p in phases] == [("frozen", 4), ("fine_tune", 8)]
    assert phases[1].learning_rate == pytest.approx(0.0002)


def test_phases_freeze_the_backbone_then_open_only_its_top_blocks():
    import keras

    from zazu.nn.backbones import build_backbone

    inputs = keras.Input((64, 64, 3))
    features = build_backbone("efficientnet_lite0", inputs, {"weights": None})
    outputs = keras.layers.Dense(2, name="head")(keras.layers.GlobalAveragePooling2D()(features[32]))
    model = keras.Model(inputs, outputs)
    backbone = transfer.pretrained_backbone(model, {"weights": "imagenet", "backbone": "efficientnet_lite0"})
    assert backbone is not None

    layer = model.get_layer("backbone")
    transfer.apply_phase(model, transfer.Phase("frozen", 2, 1e-3, 0), backbone)
    assert layer.trainable_weights == [] and len(model.trainable_weights) == 2  # the head's kernel and bias

    transfer.apply_phase(model, transfer.Phase("fine_tune", 4, 1e-4, 2), backbone)
    opened = {sub.name for sub in layer.layers if sub.trainable_weights}
    assert opened == {"head_conv", "block14_expand_conv", "block14_dwconv", "block14_project_conv",
                      "block15_expand_conv", "block15_dwconv", "block15_project_conv"}
    assert not any("_bn" in name for name in opened)  # BatchNorm stays in inference mode


def test_from_scratch_weights_mean_no_transfer():
    import keras

    from zazu.nn.backbones import build_backbone

    inputs = keras.Input((64, 64, 3))
    model = keras.Model(inputs, build_backbone("efficientnet_lite0", inputs, {})[32])
    assert transfer.pretrained_backbone(model, {"weights": None, "backbone": "efficientnet_lite0"}) is None


def test_pooled_features_are_computed_once_and_reused_from_disk(tmp_path, monkeypatch):
    from PIL import Image

    paths = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 8), (i * 80, 0, 0)).save(path)
        paths.append(str(path))
    calls = []

    def extractor(x, training=False):
        calls.append(int(x.shape[0]))
        return np.asarray(x)[:, 0, 0, :1]  # the red value of each image

    first = pooled_features.pooled_features(extractor, paths, (8, 8), 2, {"backbone": "b"})
    assert first[:, 0].tolist() == [0.0, 80.0, 160.0] and calls == [2, 1]
    pooled_features.clear_memory()
    again = pooled_features.pooled_features(extractor, paths, (8, 8), 2, {"backbone": "b"})
    assert calls == [2, 1] and np.array_equal(first, again)  # from the disk cache, not recomputed
    other = pooled_features.pooled_features(extractor, paths, (8, 8), 2, {"backbone": "c"})
    assert calls == [2, 1, 2, 1] and np.array_equal(first, other)  # another backbone is another key
