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


@pytest.fixture(scope="module")
def sealed_tflite(tmp_path_factory):
    """A small float .tflite classifier with Zazu's metadata embedded (and so sealed), as export writes it:
    predict, evaluate and serve take it for a tiny_cnn trained on classes a and b."""
    import keras
    import numpy as np
    import tensorflow as tf

    from zazu.export.metadata import embed_tflite_metadata

    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(features))
    model.set_weights([np.full(w.shape, 0.25, np.float32) for w in model.get_weights()])
    path = tmp_path_factory.mktemp("sealed") / "model.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    embed_tflite_metadata(path, {
        "task": "classification", "model": "tiny_cnn", "classes": ["a", "b"], "input_size": [8, 8],
        "input": {"dtype": "float32", "range": [0, 255], "channels": "RGB", "resize": "stretch"},
        "objective": "val_accuracy", "hyperparameters": {"input_size": 8}, "variant": "float32"})
    return path


def _damaged(tmp_path, source, change) -> str:
    data = bytearray(source.read_bytes())
    change(data)
    path = tmp_path / "damaged.tflite"
    path.write_bytes(bytes(data))
    return path


def test_a_sealed_tflite_runs_and_reads_back_its_metadata(sealed_tflite):
    import numpy as np

    from zazu.export.litert import TFLiteRunner

    assert read_metadata(sealed_tflite)["classes"] == ["a", "b"]
    (out,) = TFLiteRunner(sealed_tflite)(np.ones((1, 8, 8, 3), np.float32))
    assert out.shape == (1, 2)


def test_a_flipped_weight_byte_is_refused_before_litert_runs(sealed_tflite, tmp_path):
    import numpy as np

    from zazu.export.litert import TFLiteRunner

    weights = np.full(4, 0.25, np.float32).tobytes()  # the first 4 conv weights, as stored

    def flip(data):
        at = data.find(weights)
        assert at > 0
        data[at + 1] ^= 0x40

    with pytest.raises(ZazuError, match=r"damaged.tflite: damaged TFLite file: its bytes no longer match"):
        TFLiteRunner(_damaged(tmp_path, sealed_tflite, flip))


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_tflite_is_one_error(sealed_tflite, tmp_path, cut):
    from zazu.export.litert import TFLiteRunner

    path = _damaged(tmp_path, sealed_tflite, lambda data: data.__delitem__(slice(int(len(data) * cut), None)))
    with pytest.raises(ZazuError, match=r"damaged.tflite: (damaged TFLite file|LiteRT cannot load it)"):
        TFLiteRunner(path)


@pytest.mark.parametrize("keep", [100, 400])
def test_a_tflite_cut_to_its_first_bytes_is_one_error_where_its_metadata_is_read(sealed_tflite, tmp_path, keep):
    """`predict`, `evaluate` and `serve` read the metadata first: the flatbuffer reader's struct.error
    on a file cut inside its tables was a traceback."""
    path = _damaged(tmp_path, sealed_tflite, lambda data: data.__delitem__(slice(keep, None)))
    with pytest.raises(ZazuError, match=r"damaged.tflite: damaged TFLite file: its structure cannot be read"):
        read_metadata(path)


def test_random_damage_is_always_refused_never_run(sealed_tflite, tmp_path):
    """40 files, each with 8 random bytes changed (seeded): every one is refused in one line."""
    import numpy as np

    from zazu.export.litert import TFLiteRunner

    rng = np.random.default_rng(0)
    source = sealed_tflite.read_bytes()
    for k in range(40):
        def scramble(data):
            for at in rng.integers(8, len(data), 8):
                data[at] = (data[at] + 1 + int(rng.integers(0, 254))) % 256

        with pytest.raises(ZazuError, match="damaged.tflite"):
            TFLiteRunner(_damaged(tmp_path, sealed_tflite, scramble))
    assert sealed_tflite.read_bytes() == source


@pytest.mark.parametrize("command", ["predict", "evaluate", "serve", "profile"])
def test_randomly_damaged_tflite_files_through_the_cli_are_one_error_line(sealed_tflite, tmp_path, command,
                                                                        monkeypatch):
    """What a user meets: 8 files, each with 4 random bytes of its weights changed (seeded; a flatbuffer still
    well formed, which LiteRT would run), given to each command that reads a .tflite. Each ends in exit 2 and
    one `error:` line naming the file; none runs, none tracebacks."""
    import numpy as np
    from click.testing import CliRunner
    from PIL import Image

    from zazu.cli import cli

    data = tmp_path / "data"
    for label in ("a", "b"):
        (data / label).mkdir(parents=True)
        for k in range(2):
            Image.new("RGB", (8, 8), (40 * k, 200 if label == "a" else 0, 0)).save(data / label / f"{k}.png")
    arguments = {"predict": [str(data / "a" / "0.png"), "--output", str(tmp_path / "out")],
                 "evaluate": ["--data", str(data), "--output", str(tmp_path / "out" / "evaluation.json")],
                 "serve": ["--port", "0"], "profile": ["--runs", "1"]}[command]
    source = sealed_tflite.read_bytes()
    weights = source.index(np.full(16, 0.25, "<f4").tobytes())  # the fixture sets every weight to 0.25
    import uvicorn

    # a model that loaded would be served until killed: return at once instead (exit 0, which fails below)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    rng = np.random.default_rng(1)
    runner = CliRunner()
    for case in range(8):
        def scramble(content):
            for at in rng.integers(weights, weights + 64, 4):
                content[at] = (content[at] + 1 + int(rng.integers(0, 254))) % 256

        path = _damaged(tmp_path, sealed_tflite, scramble)
        result = runner.invoke(cli, [command, str(path), *arguments])
        lines = [line for line in result.output.splitlines() if line.strip()]
        where = f"case {case}: exit {result.exit_code}\n{result.output}"
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), where
        assert "Traceback" not in result.output, where
        assert [line for line in lines if line.startswith("error:")] == [lines[-1]], where
        assert "damaged.tflite" in lines[-1], where
    assert not (tmp_path / "out").exists()  # predict and evaluate wrote nothing for a file they refused
