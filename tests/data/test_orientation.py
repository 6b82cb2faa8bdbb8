"""EXIF orientation: a photo stored sideways with its tag is decoded, sized, letterboxed and
annotated upright, for all eight tag values."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from zazu.data.orientation import ORIENTATION_TAG

# How a camera stores an upright picture for each tag: the inverse of the turn the tag asks for.
STORE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
         4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
         7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
WIDTH, HEIGHT = 48, 32  # upright landscape; tags 5-8 store it as portrait
BOX = (6, 4, 22, 16)  # upright pixels x0, y0, x1, y1: a red block in the top-left part


def upright_image() -> np.ndarray:
    """No symmetry: every wrong turn or mirror moves the red block or the colour ramp."""
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[..., 2] = np.linspace(0, 255, WIDTH, dtype=np.uint8)[None, :]  # blue ramp left to right
    image[..., 1] = np.linspace(0, 120, HEIGHT, dtype=np.uint8)[:, None]  # green ramp top to bottom
    x0, y0, x1, y1 = BOX
    image[y0:y1, x0:x1] = (255, 0, 0)
    return image


def stored(orientation: int, fmt: str = "PNG") -> bytes:
    image = Image.fromarray(upright_image())
    if STORE[orientation] is not None:
        image = image.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif.tobytes(), **({"quality": 98} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_decoding_turns_every_orientation_upright(orientation):
    from zazu.data.pipeline import decode_encoded

    image = decode_encoded(stored(orientation)).numpy()
    np.testing.assert_array_equal(image, upright_image())


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_jpeg_phone_photo_is_decoded_upright(orientation):
    from zazu.data.pipeline import decode_encoded

    image = decode_encoded(stored(orientation, "JPEG")).numpy().astype(np.int32)
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert np.abs(image - upright_image()).mean() < 4  # JPEG loss only; a wrong turn differs by ~100


@pytest.mark.parametrize("orientation", [1, 6])
def test_sizes_are_upright_in_readers_check_and_predict(orientation, tmp_path):
    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset
    from zazu.inference.predictor import check_image_bytes

    data = stored(orientation)
    assert check_image_bytes(data, "x.png") == (WIDTH, HEIGHT)
    root = tmp_path / "yolo"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("block\n")
    (root / "images" / "photo.png").write_bytes(data)
    x0, y0, x1, y1 = BOX  # YOLO labels are normalised to the upright image
    (root / "labels" / "photo.txt").write_text(
        f"0 {(x0 + x1) / 2 / WIDTH} {(y0 + y1) / 2 / HEIGHT} {(x1 - x0) / WIDTH} {(y1 - y0) / HEIGHT}\n")
    dataset = read_dataset(root)
    (record,) = dataset.records
    assert (record.width, record.height) == (WIDTH, HEIGHT)
    assert record.instances[0].box == pytest.approx(BOX)
    report = check_dataset(dataset)
    assert not [p for p in report.problems if "size" in p.message]
    (checked,) = report.dataset.records
    assert (checked.width, checked.height) == (WIDTH, HEIGHT)


def test_training_pixels_and_targets_agree_on_a_sideways_photo(tmp_path):
    """The letterboxed training image has the red block exactly where the letterboxed box says."""
    from zazu.data.pipeline import instance_dataset, instance_targets
    from zazu.data.records import ImageRecord, Instance

    path = tmp_path / "photo.jpg"
    path.write_bytes(stored(6, "JPEG"))
    record = ImageRecord("photo.jpg", width=WIDTH, height=HEIGHT, instances=(Instance(label=0, box=BOX),))
    size = (96, 96)
    targets = instance_targets([record], size, max_instances=2, with_masks=False)
    batch = next(iter(instance_dataset([str(path)], targets, size, 1, training=False)))
    image = batch["images"][0].numpy()
    x0, y0, x1, y1 = np.round(batch["bounding_boxes"]["boxes"][0, 0].numpy()).astype(int)
    inside = image[y0 + 2:y1 - 2, x0 + 2:x1 - 2]
    assert inside[..., 0].min() > 200 and inside[..., 1:].max() < 60  # all red
