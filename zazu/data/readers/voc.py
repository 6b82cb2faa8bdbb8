"""Pascal VOC XML: one XML per image; the `difficult` flag is kept.

Box coordinates are taken as written (absolute pixels, x1 = xmax), as
labelling tools write them. Images are looked for in JPEGImages/, images/, the
XML's folder and the root; the XML's <path> (an absolute path on the labeller's
machine) is ignored. ImageSets/Main/{train,val,test}.txt make the given split.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from zazu.data.paths import inside_root, not_utf8_problem, read_text
from zazu.data.records import SPLIT_NAMES, Dataset, ImageRecord, Instance, Problem
from zazu.errors import DatasetError


def find_voc_files(root: Path) -> list[Path]:
    for folder in (root / "Annotations", root / "annotations", root):
        files = sorted(p for p in folder.glob("*.xml") if p.is_file())
        if files:
            return files
    return []


def _text(node, tag: str, default=None):
    child = node.find(tag)
    return child.text.strip() if child is not None and child.text else default


def _size(tree, key: str, rel_xml: str, problems: list[Problem]) -> int:
    """<size><width> or <height> as a positive integer, or 0 (unknown: the image's own size is used)."""
    size = tree.find("size")
    text = _text(size, key) if size is not None else None
    if text is None:
        return 0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        problems.append(Problem(rel_xml, f"<size><{key}> must be a positive number. Received: {key}={text!r}; "
                                         "the image's own size is used"))
        return 0
    return int(value)


def read_voc_dataset(root: str | Path) -> Dataset:
    root = Path(root)
    files = find_voc_files(root)
    if not files:
        raise DatasetError(f"{root}: no Pascal VOC XML files found (looked in Annotations/, annotations/ and the root).")
    problems: list[Problem] = []
    parsed = _parse_annotation_files(root, files, problems)
    classes = sorted({_text(obj, "name", "") for _, _, tree in parsed for obj in tree.findall("object")} - {""})
    index = {name: i for i, name in enumerate(classes)}
    records: list[ImageRecord] = []
    named_in: dict[str, str] = {}
    for path, rel_xml, tree in parsed:
        rel = _image_file(root, path, rel_xml, tree, named_in, problems)
        if rel is None:
            continue
        width, height = (_size(tree, key, rel_xml, problems) for key in ("width", "height"))
        records.append(ImageRecord(rel, width=width or None, height=height or None,
                                   instances=_instances(tree, rel_xml, index, problems), source=rel_xml))
    given = _image_sets(root, records, problems)
    return Dataset(root=root, format="voc", classes=classes, records=records, given_split=given, problems=problems)


def _parse_annotation_files(root: Path, files: list[Path], problems: list[Problem]) -> list[tuple]:
    """(path, path within root, XML root) of each file that parses to an <annotation>."""
    parsed = []
    for path in files:
        rel_xml = path.relative_to(root).as_posix()
        bad_name = not_utf8_problem(rel_xml, "annotation file name", "its image is left out")
        if bad_name is not None:
            problems.append(bad_name)
            continue
        try:
            tree = SafeET.parse(path).getroot()  # refuses entity declarations: a bomb is not expanded
        except ET.ParseError as e:
            problems.append(Problem(rel_xml, f"not valid XML ({e}); left out"))
            continue
        except DefusedXmlException as e:
            problems.append(Problem(rel_xml, f"declares XML entities or DTDs ({type(e).__name__}), which "
                                             "annotation files never need; refused", severity="fatal"))
            continue
        if tree.tag == "annotation":
            parsed.append((path, rel_xml, tree))
    return parsed


def _image_file(root: Path, path: Path, rel_xml: str, tree, named_in: dict[str, str],
                problems: list[Problem]) -> str | None:
    """The image an annotation's <filename> names (within root), or None with the problem recorded."""
    filename = _text(tree, "filename")
    if not filename:
        problems.append(Problem(rel_xml, "no <filename>; left out"))
        return None
    candidates = [inside_root(root, filename, base=folder)
                  for folder in (root / "JPEGImages", root / "images", path.parent, root)]
    if all(c is None for c in candidates):
        problems.append(Problem(rel_xml, f"<filename> {filename!r} points outside the dataset folder; refused",
                                severity="fatal"))
        return None
    rel = next((c for c in candidates if c is not None and (root / c).is_file()), None)
    if rel is None:
        problems.append(Problem(filename, f"missing image file (named in {rel_xml}); left out"))
        return None
    if rel in named_in:  # one image twice would be two samples, possibly on both sides of the split
        problems.append(Problem(rel, f"named in both {named_in[rel]} and {rel_xml}; kept once, from {named_in[rel]}"))
        return None
    named_in[rel] = rel_xml
    return rel


def _instances(tree, rel_xml: str, index: dict[str, int], problems: list[Problem]) -> tuple[Instance, ...]:
    instances = []
    for obj in tree.findall("object"):
        name = _text(obj, "name", "")
        if name not in index:
            problems.append(Problem(rel_xml, "object without a <name>; ignored"))
            continue
        box = obj.find("bndbox")
        if box is None:
            problems.append(Problem(rel_xml, f"object {name!r} has no <bndbox>; ignored"))
            continue
        try:
            coords = tuple(float(_text(box, k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            problems.append(Problem(rel_xml, f"object {name!r} has a non-numeric <bndbox>; ignored"))
            continue
        instances.append(Instance(label=index[name], box=coords, difficult=_text(obj, "difficult", "0") == "1"))
    return tuple(instances)


def _image_sets(root: Path, records: list[ImageRecord], problems: list[Problem]) -> dict[str, list[str]] | None:
    folder = root / "ImageSets" / "Main"
    if not (folder / "train.txt").is_file() or not (folder / "val.txt").is_file():
        return None
    by_stem = {Path(r.path).stem: r.path for r in records}
    given: dict[str, list[str]] = {}
    listed_in: dict[str, str] = {}
    for split in SPLIT_NAMES:
        path = folder / f"{split}.txt"
        if path.is_file():
            stems = [line.split()[0] for line in read_text(path).splitlines() if line.strip()]
            given[split] = []
            for stem in (s for s in stems if s in by_stem):
                if stem in listed_in:  # on both sides, it would be scored on an image it trained on
                    if listed_in[stem] != split:
                        problems.append(Problem(by_stem[stem], f"listed in both ImageSets/Main/{listed_in[stem]}.txt "
                                                               f"and {split}.txt; kept once, in {listed_in[stem]}"))
                    continue
                listed_in[stem] = split
                given[split].append(by_stem[stem])
    return given
