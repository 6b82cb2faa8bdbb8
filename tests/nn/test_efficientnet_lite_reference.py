"""EfficientNet-Lite0/1/2 with weights="imagenet" reproduce the PyTorch reference logits.

The reference data is shared/pretrained beside the repository (README there). Its absence fails
the tests: CI must provide it. A single convention mistake (symmetric padding, BN eps 1e-5, mean/std
normalization) moves the logits by 2.7-5.6, far past the 1e-3 tolerance.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from zazu.nn.efficientnet_lite import VARIANTS
from zazu.nn.pretrained import pretrained_efficientnet_lite

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

REPO = Path(__file__).resolve().parents[2]
SHARED_PRETRAINED = REPO.parent / "shared" / "pretrained"
TOLERANCE = 1e-3
# README: top-1 / top-5 (in %) of the reference logits on the 100 sample images.
ACCURACY = {"lite0": (89, 97), "lite1": (88, 98), "lite2": (90, 100)}


def shared_file(name: str):
    path = SHARED_PRETRAINED / name
    if not path.exists():
        pytest.fail(f"The EfficientNet-Lite reference data is missing: expected {path} (the `shared` folder "
                    f"beside the repository {REPO}). Clone or copy shared/ next to the repository.")
    return path


@pytest.fixture(scope="module")
def reference():
    with np.load(shared_file("reference_logits.npz")) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module", params=sorted(ACCURACY))
def lite(request):
    """(short name, ImageNet model at its reference resolution)."""
    size = VARIANTS[f"efficientnet_{request.param}"]["resolution"]
    return request.param, pretrained_efficientnet_lite(f"efficientnet_{request.param}", (size, size, 3),
                                                       include_top=True, weights="imagenet")


def model_input(path, size: int) -> np.ndarray:
    """README preprocessing step 2: Pillow bicubic resize of the short side to round(S / 0.875), centre crop."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    short = round(size / 0.875)
    w, h = image.size
    image = image.resize((short, round(h * short / w)) if w <= h else (round(w * short / h), short), Image.BICUBIC)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def logits(model, pixels: np.ndarray) -> np.ndarray:
    return model.predict(pixels.astype(np.float32), batch_size=50, verbose=0)


def test_stored_inputs_give_the_reference_logits(lite, reference):
    name, model = lite
    expected = reference[f"logits_{name}"][reference["input_rows"]]
    got = logits(model, reference[f"inputs_{name}"])
    assert got.shape == expected.shape == (17, 1000)
    assert np.abs(got - expected).max() < TOLERANCE, f"{name}: max |diff| {np.abs(got - expected).max():.3g}"
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))


def test_sample_jpegs_give_the_reference_logits_and_accuracy(lite, reference):
    name, model = lite
    size = model.input_shape[1]
    files = sorted(shared_file("imagenet_samples").glob("*.jpg"))
    assert len(files) == 100
    pixels = np.stack([model_input(path, size) for path in files])
    hashes = [hashlib.sha256(row.tobytes()).hexdigest() for row in pixels]
    assert hashes == list(reference[f"inputs_sha256_{name}"]), "the inputs differ from the reference pixels"
    got = logits(model, pixels)
    expected = reference[f"logits_{name}"]
    assert np.abs(got - expected).max() < TOLERANCE, f"{name}: max |diff| {np.abs(got - expected).max():.3g}"
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))
    labels = reference["labels"]
    top1 = int((got.argmax(1) == labels).sum())
    top5 = int((np.argsort(-got, axis=1)[:, :5] == labels[:, None]).any(1).sum())
    assert (top1, top5) == ACCURACY[name]
