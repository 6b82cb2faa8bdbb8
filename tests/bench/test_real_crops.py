"""bench/real_crops.py's crops dataset: each crop is its box grown by the margin and clipped to the
image, filed under its class; small boxes and duplicate images are skipped; big classes are capped
by a seeded sample; the folder is reused only when made with the same settings. No search runs here."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from bench_modules import load_bench

REPO = Path(__file__).resolve().parents[2]


real_crops = load_bench("real_crops")

W, H = 80, 60
# stem -> [(class, box x0 y0 x1 y1, fill colour)]; every box is filled with its own colour on a noisy background
IMAGES = {
    "a": [("cat", (4, 6, 44, 36), (250, 20, 20)), ("dog", (50, 10, 78, 58), (20, 250, 20))],
    "b": [("cat", (0, 0, 30, 30), (20, 20, 250)), ("dog", (10, 40, 20, 50), (250, 250, 20))],  # dog: 10 px, skipped
    "c": [("dog", (30, 20, 80, 60), (20, 250, 250))],  # reaches the right and bottom edges
    "d": [("cat", (20, 5, 60, 45), (250, 20, 250))],
}
MIN_SIZE = 12
# (file, left, top, right, bottom) with margin 0.25: box +- 0.25 x its width / height, outwards, clipped to 80x60
EXPECTED_WITH_MARGIN = {
    "cat": {"voc_a_0.jpg": (0, 0, 54, 44), "voc_b_0.jpg": (0, 0, 38, 38), "voc_d_0.jpg": (10, 0, 70, 55)},
    "dog": {"voc_a_1.jpg": (43, 0, 80, 60), "voc_c_0.jpg": (17, 10, 80, 60)},
}


def voc_xml(filename: str, objects) -> str:
    parts = [f"<annotation><folder>JPEGImages</folder><filename>{filename}</filename>"
             f"<size><width>{W}</width><height>{H}</height><depth>3</depth></size>"]
    for name, (x0, y0, x1, y1), _ in objects:
        parts.append(f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x0}</xmin>"
                     f"<ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>")
    return "".join(parts) + "</annotation>"


@pytest.fixture
def voc(tmp_path) -> Path:
    """VOC layout (JPEGImages/ + Annotations/), PNG images so the fill colours are exact; `e` is a byte
    copy of `a` with the same boxes (a duplicate: its crops must not be written)."""
    root = tmp_path / "voc"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    rng = np.random.default_rng(0)
    for stem, objects in IMAGES.items():
        pixels = rng.integers(0, 120, (H, W, 3), dtype=np.uint8)
        for _, (x0, y0, x1, y1), colour in objects:
            pixels[y0:y1, x0:x1] = colour
        Image.fromarray(pixels).save(root / "JPEGImages" / f"{stem}.png")
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.png", objects))
    shutil.copy(root / "JPEGImages" / "a.png", root / "JPEGImages" / "e.png")
    (root / "Annotations" / "e.xml").write_text(voc_xml("e.png", IMAGES["a"]))
    return root


def write(voc: Path, out: Path, margin: float, **kwargs) -> dict:
    options = {"min_size": MIN_SIZE, "margin": margin, "min_crops": 1, "max_ratio": None, "seed": 0,
               "log": lambda message: None, **kwargs}
    return real_crops.write_crops([voc], out, **options)


def files(out: Path) -> dict[str, set[str]]:
    return {d.name: {p.name for p in d.iterdir()} for d in out.iterdir() if d.is_dir()}


def colour_at(image: Image.Image, x: float, y: float) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32)[int(y), int(x)]


def test_crops_are_the_boxes_without_margin(voc, tmp_path):
    out = tmp_path / "crops"
    manifest = write(voc, out, margin=0.0)
    assert manifest["found"] == {"cat": 3, "dog": 2}  # the 10 px dog and the duplicate image's boxes left out
    boxes = {stem: objects for stem, objects in IMAGES.items()}
    assert files(out) == {label: set(expected) for label, expected in EXPECTED_WITH_MARGIN.items()}
    for label, expected in EXPECTED_WITH_MARGIN.items():
        for name in expected:
            _, stem, index = Path(name).stem.split("_")
            cls, (x0, y0, x1, y1), colour = boxes[stem][int(index)]
            assert cls == label
            with Image.open(out / label / name) as crop:
                assert crop.format == "JPEG" and crop.mode == "RGB"
                assert crop.size == (x1 - x0, y1 - y0), name
                pixels = np.asarray(crop, np.float32)
            # every pixel is the box's fill colour (a window off by 1 px would hold a row or column of background)
            assert np.abs(pixels - colour).max() < 12, name


def test_crops_with_margin_are_grown_and_clipped(voc, tmp_path):
    out = tmp_path / "crops"
    write(voc, out, margin=0.25)
    assert files(out) == {label: set(expected) for label, expected in EXPECTED_WITH_MARGIN.items()}
    for label, expected in EXPECTED_WITH_MARGIN.items():
        for name, (left, top, right, bottom) in expected.items():
            _, stem, index = Path(name).stem.split("_")
            _, (x0, y0, x1, y1), colour = IMAGES[stem][int(index)]
            with Image.open(out / label / name) as crop:
                assert crop.size == (right - left, bottom - top), name
                # the box's centre, in crop pixels, is its colour: the window sits where it should
                centre = colour_at(crop, (x0 + x1) / 2 - left, (y0 + y1) / 2 - top)
                assert np.abs(centre - colour).max() < 25, name
                # and so are the pixels 2 px inside each of the box's corners
                for x, y in ((x0 + 2, y0 + 2), (x1 - 3, y0 + 2), (x0 + 2, y1 - 3), (x1 - 3, y1 - 3)):
                    assert np.abs(colour_at(crop, x - left, y - top) - colour).max() < 40, (name, x, y)
                # while the margin around the box is background (except where the box touches the image's edge)
                if left < x0:
                    assert np.abs(colour_at(crop, 0, (y0 + y1) / 2 - top) - colour).max() > 60, name


def test_crop_window_rounds_outwards_and_clips():
    assert real_crops.crop_window((10.2, 20.7, 30.5, 40.1), 100, 100, 0.0) == (10, 20, 31, 41)
    assert real_crops.crop_window((0, 0, 10, 10), 12, 11, 0.5) == (0, 0, 12, 11)


def test_reused_when_complete_refused_when_made_otherwise(voc, tmp_path):
    out = tmp_path / "crops"
    first = write(voc, out, margin=0.1)
    stamp = (out / "cat" / "voc_a_0.jpg").stat().st_mtime_ns
    assert write(voc, out, margin=0.1) == first
    assert (out / "cat" / "voc_a_0.jpg").stat().st_mtime_ns == stamp  # not rewritten
    with pytest.raises(SystemExit, match="other settings \\(margin\\)"):
        write(voc, out, margin=0.2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".crops.tmp")]  # no temporary folder left


def test_classes_need_min_crops_and_big_ones_are_capped_by_a_seeded_sample():
    Crop = real_crops.Crop
    crops = ([Crop("s", f"r{i}.jpg", 0, "raccoon", (0, 0, 30, 30)) for i in range(100)]
             + [Crop("s", f"p{i}.jpg", 0, "person", (0, 0, 30, 30)) for i in range(30)]
             + [Crop("s", f"c{i}.jpg", 0, "car", (0, 0, 30, 30)) for i in range(20)]
             + [Crop("s", f"t{i}.jpg", 0, "toilet", (0, 0, 30, 30)) for i in range(5)])
    chosen, found = real_crops.choose(crops, min_crops=20, max_classes=4, max_ratio=1.5, per_class=None, seed=0)
    assert found == {"raccoon": 100, "person": 30, "car": 20, "toilet": 5}
    assert {label: len(items) for label, items in chosen.items()} == {"car": 20, "person": 30, "raccoon": 30}
    again, _ = real_crops.choose(list(reversed(crops)), 20, 4, 1.5, None, seed=0)
    assert again == chosen  # independent of the listing order
    other, _ = real_crops.choose(crops, 20, 4, 1.5, None, seed=1)
    assert other["raccoon"] != chosen["raccoon"] and other["car"] == chosen["car"]
    with pytest.raises(SystemExit, match="Only 1 class"):
        real_crops.choose(crops, min_crops=50, max_classes=4, max_ratio=1.5, per_class=None, seed=0)


def test_a_missing_shared_folder_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        real_crops.main(["--shared", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")])
    assert stopped.value.code == 2
    assert str(tmp_path / "nowhere" / "raccoon") in capsys.readouterr().err
