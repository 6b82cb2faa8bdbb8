"""A model file is untrusted input: members that inflate past their caps are refused unread, and a
Keras model Keras refuses to load safely is one line, not a traceback."""

from __future__ import annotations

import zipfile

import pytest

from zazu.errors import ZazuError
from zazu.export.metadata import read_metadata
from zazu.keras_archive import check_keras_archive


def _archive(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("member, mib", [("zazu.json", 2), ("config.json", 65), ("metadata.json", 2)])
def test_a_member_that_inflates_past_its_cap_is_refused_unread(tmp_path, member, mib):
    path = _archive(tmp_path / "bomb.keras", {member: b" " * (mib << 20)})
    assert path.stat().st_size < 200_000  # small on disk: the size is in the inflation
    with pytest.raises(ZazuError, match=rf"bomb.keras: its member {member} inflates to {mib} MiB, over the"):
        check_keras_archive(path)
    if member == "zazu.json":
        with pytest.raises(ZazuError, match="inflates to 2 MiB"):
            read_metadata(path)


def test_members_within_their_caps_pass(tmp_path):
    check_keras_archive(_archive(tmp_path / "ok.keras", {"config.json": b"{}", "zazu.json": b"{}"}))


def test_a_file_that_is_not_a_zip_is_one_error(tmp_path):
    path = tmp_path / "random.keras"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ZazuError, match=r"random.keras: not a readable .keras archive"):
        check_keras_archive(path)


def test_a_lambda_layer_is_refused_in_one_line_and_its_code_never_runs(tmp_path):
    import keras

    from zazu.adapters.base import BaseAdapter

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ZazuError) as error:
        BaseAdapter.load_trained(path, compile=False)
    message = str(error.value)
    assert message.startswith(f"{path}: Keras refused to load it:") and "\n" not in message
    assert "safe_mode" in message
