"""A detector is built from injected parts, as torchvision's are: the coder passed in, or the entry's own."""

from __future__ import annotations

import pytest

from zazu.registry import Registry


def test_an_injected_coder_is_the_one_used_and_the_default_is_the_entrys():
    spec = Registry.load().get("centernet")
    hp = {**spec.training_configs, "input_size": 64}
    injected = object()
    assert spec.adapter_class({"name": "centernet"}, hp, coder=injected).coder is injected

    adapter = spec.adapter_class({"name": "centernet"}, hp)
    with pytest.raises(ValueError, match="before the classes are known"):
        adapter.coder
    adapter.prepare_inference(["a", "b"])
    coder = adapter.coder
    assert coder is adapter.coder and type(coder).__name__ == "CenterNetCoder"  # made once, the entry's
