"""zazu.nn.pretrained.read_state_dict: legacy torch.save files read without torch, and never executed."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
from legacy_pth import global_, header, legacy_file, literal, storages_blob, tensor_ops  # tests/nn/legacy_pth.py

from zazu.errors import WeightsError, ZazuError
from zazu.nn.pretrained import WEIGHT_PACKAGES, package_file, read_state_dict

# README of shared/pretrained: entries, num_batches_tracked entries, trainable parameters.
EXPECTED_COUNTS = {"efficientnet_lite0": (296, 49, 4_652_008), "efficientnet_lite1": (386, 64, 5_416_680),
                   "efficientnet_lite2": (386, 64, 6_092_072)}


@pytest.mark.parametrize("variant", sorted(EXPECTED_COUNTS))
def test_packaged_weights_read_to_the_documented_counts(variant):
    state = read_state_dict(package_file(variant))
    trainable = sum(v.size for k, v in state.items()
                    if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    counted = sum(k.endswith("num_batches_tracked") for k in state)
    assert (len(state), counted, trainable) == EXPECTED_COUNTS[variant]
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_conv_stem.weight"].dtype == np.float32
    assert state["_fc.weight"].shape == (1000, 1280)


def test_views_offsets_and_strides_round_trip(tmp_path):
    floats = np.arange(24, dtype=np.float32) * 1.5
    longs = np.array([7, -3, 2**40], dtype=np.int64)
    doubles = np.linspace(0, 1, 10)
    entries = {
        # transposed (non-contiguous) view starting at element 2
        "transposed": tensor_ops("k1", np.float32, 24, 2, (3, 4), (1, 3)),
        # a storage view (view_metadata) of elements 10..17, then a strided 2x3 window inside it
        "in_view": tensor_ops("k1", np.float32, 24, 1, (2, 3), (4, 1), view=("k1v", 10, 8)),
        "scalar": tensor_ops("k2", np.int64, 3, 2, (), ()),
        "broadcast": tensor_ops("k3", np.float64, 10, 4, (2, 3), (0, 2)),
        "empty": tensor_ops("k3", np.float64, 10, 0, (0, 5), (5, 1)),
    }
    path = tmp_path / "views.pth"
    path.write_bytes(legacy_file(entries, {"k1": floats, "k2": longs, "k3": doubles}))
    state = read_state_dict(path)
    assert list(state) == list(entries)
    np.testing.assert_array_equal(state["transposed"], floats[2:14].reshape(4, 3).T)
    window = floats[10:18]
    np.testing.assert_array_equal(state["in_view"], np.stack([window[1:4], window[5:8]]))
    assert state["scalar"].shape == () and state["scalar"] == 2**40 and state["scalar"].dtype == np.int64
    np.testing.assert_array_equal(state["broadcast"], np.stack([doubles[[4, 6, 8]]] * 2))
    assert state["empty"].shape == (0, 5)
    for array in state.values():
        assert array.flags.c_contiguous and array.flags.writeable  # copies, not views of the file bytes


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    path = tmp_path / "overflow.pth"
    path.write_bytes(legacy_file({"w": tensor_ops("k", np.float32, 6, 2, (2, 3), (3, 1))},
                                 {"k": np.zeros(6, np.float32)}))
    with pytest.raises(WeightsError, match="w reaches past the end of its storage"):
        read_state_dict(path)


def _evil_object_pickles(marker) -> dict[str, bytes]:
    command = f"touch {marker}"
    return {
        "os.system": b"\x80\x02" + global_("os", "system") + literal(command) + b"\x85R.",
        # protocol 4 STACK_GLOBAL: module and name come from the stack, not the opcode argument
        "builtins.exec": (b"\x80\x04" + b"\x8c\x08builtins" + b"\x8c\x04exec" + b"\x93"
                          + literal(f"open({str(marker)!r}, 'w').close()") + b"\x85R."),
        # nested inside an otherwise valid state dict
        "posix.system": (b"\x80\x02" + global_("collections", "OrderedDict") + b")R" + literal("w")
                         + global_("posix", "system") + literal(command) + b"\x85Rs."),
    }


@pytest.mark.parametrize("refused", ["os.system", "builtins.exec", "posix.system"])
def test_disallowed_global_is_refused_and_never_run(tmp_path, refused):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    path.write_bytes(header() + _evil_object_pickles(marker)[refused] + storages_blob({}))
    with pytest.raises(WeightsError) as caught:
        read_state_dict(path)
    message = str(caught.value)
    assert f"global={refused}" in message and str(path) in message and "\n" not in message
    assert not marker.exists()


def test_payload_in_the_storage_key_list_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_keys.pth"
    keys = b"\x80\x02" + global_("os", "system") + literal(f"touch {marker}") + b"\x85R."
    path.write_bytes(header() + pickle.dumps({}, protocol=2) + keys)
    with pytest.raises(WeightsError, match="global=os.system"):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [10, 200, 30_000, 18_826_032 - 1000])
def test_truncated_file_is_a_clear_error(tmp_path, cut):
    data = package_file("efficientnet_lite0").read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[:cut])
    with pytest.raises(WeightsError, match=r"truncated or malformed") as caught:
        read_state_dict(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_zip_format_is_refused_with_advice(tmp_path):
    path = tmp_path / "new_format.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}))
    with pytest.raises(WeightsError, match="Expected a legacy \\(non-zip\\) torch.save file") as caught:
        read_state_dict(path)
    assert "_use_new_zipfile_serialization=False" in str(caught.value)


def test_bad_magic_and_missing_file(tmp_path):
    path = tmp_path / "not_torch.pth"
    path.write_bytes(pickle.dumps(12345, protocol=2) + pickle.dumps(1001, protocol=2))
    with pytest.raises(WeightsError, match="bad magic number.*Received: path="):
        read_state_dict(path)
    with pytest.raises(ZazuError, match="Received: path=.*nowhere.pth"):
        read_state_dict(tmp_path / "nowhere.pth")


def test_weight_packages_table_names_the_readme_files():
    assert {v[2] for v in WEIGHT_PACKAGES.values()} == {
        "efficientnet-lite0-57934424.pth", "efficientnet-lite1-77cc7160.pth", "efficientnet-lite2-9656183e.pth"}
    for requirement, module, file_name, sha in WEIGHT_PACKAGES.values():
        assert requirement == module.replace("_", "-") + "==0.1.0"
        assert sha.startswith(file_name.rsplit("-", 1)[1][:8])  # torch hub names carry the hash prefix
