"""Seeded fuzzing of what users hand Zazu: broken COCO, VOC and YOLO datasets through `zazu data
check`, broken configs through `resolve_config` (what every command calls first), damaged `.keras`
archives through the metadata read (damaged `.tflite` files through predict, evaluate, serve and profile:
tests/export/test_untrusted_model_files.py). Every case must end in a result or one ZazuError / exit code, never another
exception or a traceback, and nothing outside the case's own folder may change."""

from __future__ import annotations

import copy
import json
import random

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from zazu.cli import cli
from zazu.config import load_defaults, resolve_config
from zazu.errors import ZazuError

HOSTILE = [None, "x", "", -1, 0, 1e308 * 10, float("nan"), [], {}, [1], [[1, 2]], "../../etc/passwd", True, 2 ** 70,
           {"counts": "zz", "size": [1]}, [float("nan")] * 4, ["1", "2", "3", "4"], 3.5]
DATASET_CASES = 60
TEXT_CASES = 40  # each of VOC and YOLO
HOSTILE_TEXT = ["", "nan", "-inf", "inf", "-1", "1e999", "abc", "0x10", "9" * 400, "1,5", "\u00e9", "2", "0", " "]
CONFIG_CASES = 60
ARCHIVE_CASES = 30


def _valid_coco() -> dict:
    return {"images": [{"id": k, "file_name": f"{k}.png", "width": 32, "height": 32} for k in (1, 2, 3)],
            "annotations": [{"id": k, "image_id": 1 + k % 3, "category_id": 1 + k % 2, "bbox": [2, 2, 10, 12],
                             "segmentation": [[2, 2, 12, 2, 12, 14]], "iscrowd": 0} for k in range(6)],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}


def _places(data, prefix=()):
    """Every (path, container) in a JSON tree, to break one at random."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _places(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from _places(value, (*prefix, i))


def _break(data, rng: random.Random):
    data = copy.deepcopy(data)
    path = rng.choice(list(_places(data)))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(HOSTILE))
    return data, path


def _snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_broken_coco_datasets_give_a_report_or_one_error_never_a_traceback(tmp_path):
    rng = random.Random(20261130)
    runner = CliRunner()
    outcomes = {}
    for case in range(DATASET_CASES):
        root = tmp_path / f"case{case}"
        (root / "images").mkdir(parents=True)
        for k in (1, 2, 3):
            Image.new("RGB", (32, 32), (k * 40, 0, 0)).save(root / "images" / f"{k}.png")
        data, path = _break(_valid_coco(), rng)
        (root / "annotations").mkdir()
        (root / "annotations" / "instances.json").write_text(json.dumps(data))
        before = _snapshot(tmp_path)
        result = runner.invoke(cli, ["data", "check", str(root)])
        where = f"case {case}: {'/'.join(map(str, path))} -> {json.dumps(data)[:300]}"
        assert result.exit_code in (0, 1, 2), f"{where}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{where}\n{type(result.exception).__name__}: {result.exception}"
        assert "Traceback" not in result.output, f"{where}\n{result.output}"
        assert _snapshot(tmp_path) == before, where  # data check writes nothing
        outcomes[result.exit_code] = outcomes.get(result.exit_code, 0) + 1
    assert outcomes.get(2, 0) >= 5 and outcomes.get(1, 0) + outcomes.get(0, 0) >= 5, outcomes  # both kinds met


def _check_cases_through_the_cli(tmp_path, cases, fmt: str) -> dict[int, int]:
    """Run `zazu data check --format fmt` on every (root, description) case: a report or one error,
    never a traceback, nothing written. Returns how many cases ended with each exit code."""
    runner = CliRunner()
    outcomes = {}
    for root, where in cases:
        before = _snapshot(tmp_path)
        result = runner.invoke(cli, ["data", "check", str(root), "--format", fmt])
        assert result.exit_code in (0, 1, 2), f"{where}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{where}\n{type(result.exception).__name__}: {result.exception}"
        assert "Traceback" not in result.output, f"{where}\n{result.output}"
        assert _snapshot(tmp_path) == before, where
        outcomes[result.exit_code] = outcomes.get(result.exit_code, 0) + 1
    return outcomes


def _one_image_dataset(root, images: str, annotations: str, size: tuple[int, int]):
    """`root` with one image `images/a.png` of `size` and an empty `annotations` folder."""
    (root / images).mkdir(parents=True)
    (root / annotations).mkdir()
    Image.new("RGB", size, (90, 10, 10)).save(root / images / "a.png")
    return root


VOC_FIELDS = ["filename", "width", "height", "depth", "name", "difficult", "xmin", "ymin", "xmax", "ymax"]


def _voc_xml(values: dict) -> str:
    def tag(name):
        return "" if values[name] is None else f"<{name}>{values[name]}</{name}>"

    return (f"<annotation>{tag('filename')}<size>{tag('width')}{tag('height')}{tag('depth')}</size><object>"
            f"{tag('name')}{tag('difficult')}<bndbox>{tag('xmin')}{tag('ymin')}{tag('xmax')}{tag('ymax')}</bndbox>"
            "</object></annotation>")


def test_broken_voc_annotations_give_a_report_or_one_error_never_a_traceback(tmp_path):
    """One field of a valid VOC file emptied, removed or given a hostile text; or the file cut short."""
    from xml.sax.saxutils import escape

    rng = random.Random(11)
    valid = {"filename": "a.png", "width": 48, "height": 40, "depth": 3, "name": "cat", "difficult": 0,
             "xmin": 4, "ymin": 5, "xmax": 30, "ymax": 33}
    cases = []
    for case in range(TEXT_CASES):
        root = _one_image_dataset(tmp_path / f"voc{case}", "JPEGImages", "Annotations", (48, 40))
        values, field = dict(valid), rng.choice(VOC_FIELDS)
        values[field] = None if rng.random() < 0.2 else escape(rng.choice(HOSTILE_TEXT))
        xml = _voc_xml(values)
        if rng.random() < 0.15:
            xml = xml[: rng.randrange(1, len(xml))]
        (root / "Annotations" / "a.xml").write_text(xml)
        cases.append((root, f"case {case}: {xml}"))
    outcomes = _check_cases_through_the_cli(tmp_path, cases, "voc")
    assert outcomes.get(2, 0) >= 3 and outcomes.get(1, 0) + outcomes.get(0, 0) >= 3, outcomes


def test_broken_yolo_labels_give_a_report_or_one_error_never_a_traceback(tmp_path):
    """One token of a valid YOLO label file (box or polygon line) replaced, removed or doubled, or
    the class names broken."""
    rng = random.Random(12)
    cases = []
    for case in range(TEXT_CASES):
        root = _one_image_dataset(tmp_path / f"yolo{case}", "images", "labels", (50, 40))
        lines = [["0", "0.5", "0.5", "0.3", "0.4"], ["1", "0.2", "0.2", "0.6", "0.2", "0.4", "0.7"]]
        names = "names: [cat, dog]\n"
        if rng.random() < 0.2:
            names = rng.choice(["names: {cat: a}\n", "names: 5\n", "names: [cat]\n", "names: {0: cat, 2: dog}\n",
                                "- cat\n", "names: [cat, [dog]]\n", ": :\n"])
        else:
            line = rng.choice(lines)
            at = rng.randrange(len(line))
            kind = rng.random()
            if kind < 0.6:
                line[at] = rng.choice(HOSTILE_TEXT)
            elif kind < 0.8:
                del line[at]
            else:
                line.insert(at, line[at])
        (root / "data.yaml").write_text(names)
        (root / "labels" / "a.txt").write_text("\n".join(" ".join(line) for line in lines) + "\n")
        cases.append((root, f"case {case}: {names!r} {lines}"))
    outcomes = _check_cases_through_the_cli(tmp_path, cases, "yolo")
    assert outcomes.get(2, 0) >= 2 and outcomes.get(1, 0) + outcomes.get(0, 0) >= 10, outcomes


def test_broken_configs_resolve_or_raise_one_config_error(tmp_path):
    rng = random.Random(7)
    base = load_defaults()
    for case in range(CONFIG_CASES):
        data, path = _break(base, rng)
        config = tmp_path / f"case{case}.yaml"
        config.write_text(yaml.safe_dump(data))
        try:
            resolve_config(config)
        except ZazuError as error:
            assert "\n" not in str(error).strip(), f"case {case} {path}: {error}"
        except Exception as error:  # noqa: BLE001 - what the test is looking for
            pytest.fail(f"case {case}: {'.'.join(map(str, path))} = {data!r:.200}: "
                        f"{type(error).__name__}: {error}")


def test_damaged_keras_archives_read_or_raise_one_error(tmp_path):
    import zipfile

    from zazu.export.metadata import read_metadata

    source = tmp_path / "ok.keras"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Functional", "config": {}}))
        archive.writestr("zazu.json", json.dumps({"task": "classification", "classes": ["a", "b"]}))
        archive.writestr("model.weights.h5", bytes(range(256)) * 64)
    rng = random.Random(3)
    good = source.read_bytes()
    for case in range(ARCHIVE_CASES):
        data = bytearray(good)
        if case % 3 == 0:
            del data[rng.randrange(10, len(data)):]
        for _ in range(rng.randrange(1, 6)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"case{case}.keras"
        path.write_bytes(bytes(data))
        try:
            read_metadata(path)
        except ZazuError as error:
            assert str(path) in str(error)
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"case {case}: {type(error).__name__}: {error}")
