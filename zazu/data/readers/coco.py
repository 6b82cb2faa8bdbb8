"""COCO instances JSON: boxes, polygons, RLE (incl. iscrowd), non-contiguous category ids.

Layouts found: root/annotations/instances_<split>.json with images in
root/images/<split>/, root/images/, root/<split>/ or root/. Several JSON files
named after splits (train, val, test) make the dataset's own split.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from zazu.data.paths import inside_root, not_utf8, not_utf8_problem
from zazu.data.records import SPLIT_NAMES, TRAIN, VAL, Dataset, ImageRecord, Instance, Problem
from zazu.errors import DatasetError
from zazu.fields import BOX, FLAG, ID, INTEGER, LIST, POSITIVE_NUMBER, SEGMENTATION, TEXT, field_errors


# What the reader takes from a COCO file. A file that breaks the first three tables is refused; an
# annotation that breaks its tables is left out with a warning naming it.
TOP_LEVEL = {"images": LIST, "annotations": LIST, "categories": LIST}
CATEGORY = {"id": INTEGER, "name": TEXT}
IMAGE = {"id": ID, "file_name": TEXT}
IMAGE_OPTIONAL = {"width": POSITIVE_NUMBER, "height": POSITIVE_NUMBER}
ANNOTATION = {"image_id": ID, "category_id": INTEGER, "bbox": BOX}
ANNOTATION_OPTIONAL = {"segmentation": SEGMENTATION, "iscrowd": FLAG}


def is_coco_json(path: Path) -> bool:
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as f:  # bytes that are not UTF-8: said when read
            head = f.read(4096)
    except OSError:
        return False
    return '"images"' in head or '"annotations"' in head or '"categories"' in head or '"info"' in head


def find_coco_files(root: Path) -> list[Path]:
    candidates = sorted((root / "annotations").glob("*.json")) + sorted(root.glob("*.json"))
    found = []
    for path in candidates:
        if not is_coco_json(path):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            found.append(path)  # reported when read
            continue
        if isinstance(data, dict) and {"images", "annotations", "categories"} <= set(data):
            found.append(path)
    return found


def _split_name(path: Path) -> str | None:
    stem = path.stem.lower()
    for word in SPLIT_NAMES:
        if word in stem:
            return word
    return None


def read_coco_dataset(root: str | Path) -> Dataset:
    root = Path(root)
    files = find_coco_files(root)
    if not files:
        raise DatasetError(f"{root}: no COCO instances JSON found (looked in {root / 'annotations'} and {root}).")
    problems: list[Problem] = []
    loaded, categories = _load_files(root, files)
    classes, index = _class_index(categories, files[0] if len(files) == 1 else root)
    records: list[ImageRecord] = []
    given: dict[str, list[str]] = {}
    seen_in: dict[str, str] = {}
    for path, rel_json, data in loaded:
        split = _split_name(path) if len(loaded) > 1 else None
        image_dirs = [d for d in ([root / "images" / split] if split else []) + [
            root / "images" / path.stem.replace("instances_", ""), root / "images", *(
                [root / split] if split else []), root] if d.is_dir()]
        by_image = _instances_by_image(data, rel_json, index, problems)
        for img in data["images"]:
            rel = _image_file(root, img, image_dirs, rel_json, problems)
            if rel is None:
                continue
            if rel in seen_in:
                problems.append(Problem(rel, f"listed in both {seen_in[rel]} and {rel_json}; kept once, "
                                             f"in {seen_in[rel]}"))
                continue
            seen_in[rel] = rel_json
            records.append(ImageRecord(rel, width=img.get("width"), height=img.get("height"),
                                       instances=tuple(by_image.get(img["id"], ())), source=rel_json))
            if split:
                given.setdefault(split, []).append(rel)
    if given and not {TRAIN, VAL} <= set(given):
        given = {}
    return Dataset(root=root, format="coco", classes=classes, records=records, given_split=given or None,
                   problems=problems)


def _load_files(root: Path, files: list[Path]) -> tuple[list[tuple], dict[int, str]]:
    """([(path, path within root, parsed JSON)], {category id: name} over all files); DatasetError when
    a file is not readable JSON of the right structure, or two files name one category id apart."""
    categories: dict[int, str] = {}
    loaded = []
    for path in files:
        rel_json = path.relative_to(root).as_posix()
        if not_utf8(rel_json) is not None:  # all its images are named by it: refused, not left out silently
            raise DatasetError(f"{not_utf8(str(path))}: COCO file name is not valid UTF-8. Expected a UTF-8 "
                               "file name (rename it as UTF-8).")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DatasetError(f"{path}: not valid JSON ({e}).") from None
        _check_structure(path, data)
        for cat in data["categories"]:
            if categories.get(cat["id"], cat["name"]) != cat["name"]:
                raise DatasetError(f"{path}: category id {cat['id']} is {cat['name']!r} here and "
                                   f"{categories[cat['id']]!r} earlier (in this file or another). Expected one "
                                   "name per category id.")
            categories[cat["id"]] = cat["name"]
        loaded.append((path, rel_json, data))
    return loaded, categories


def _class_index(categories: dict[int, str], where) -> tuple[list[str], dict[int, int]]:
    """(class names in category id order, {category id: class index}); names must be unique."""
    ids = sorted(categories)
    classes = [categories[i] for i in ids]
    repeated = next((name for name, n in Counter(classes).items() if n > 1), None)
    if repeated is not None:  # two ids, one name: the model would have two outputs with the same label
        same = ", ".join(str(i) for i in ids if categories[i] == repeated)
        raise DatasetError(f"{where}: category names must be unique. Received: name {repeated!r} for category ids {same}")
    return classes, {cat_id: i for i, cat_id in enumerate(ids)}


def _instances_by_image(data: dict, rel_json: str, index: dict[int, int], problems: list[Problem]) -> dict[int, list]:
    """{image id: [Instance]} of a file's usable annotations; each one left out is a problem."""
    by_image: dict[int, list[Instance]] = {}
    image_ids = {img["id"] for img in data["images"]}
    for ann in data["annotations"]:
        where = f"{rel_json} annotation {ann.get('id') if isinstance(ann, dict) else '?'}"
        errors = field_errors(ann, ANNOTATION, ANNOTATION_OPTIONAL)
        if errors:
            problems.extend(Problem(where, f"{error}; ignored") for error in errors)
            continue
        if ann.get("image_id") not in image_ids:
            problems.append(Problem(where, f"refers to image_id {ann.get('image_id')} that is not in `images`; ignored"))
            continue
        if ann.get("category_id") not in index:
            problems.append(Problem(where, f"unknown class: category_id {ann.get('category_id')} is not in `categories`; ignored"))
            continue
        instance = _instance(ann, index, where, problems)
        if instance is not None:
            by_image.setdefault(ann["image_id"], []).append(instance)
    return by_image


def _image_file(root: Path, img: dict, image_dirs: list[Path], rel_json: str, problems: list[Problem]) -> str | None:
    """The file an `images` entry names (within root, in the first of `image_dirs` holding it), or None
    with the problem recorded."""
    name = str(img["file_name"])
    bad_name = not_utf8_problem(name, f"file_name of image {img['id']} in {rel_json}")
    if bad_name is not None:  # a \udcXX escape in the JSON: names a file whose name is not UTF-8
        problems.append(bad_name)
        return None
    rel = None
    for image_dir in image_dirs:
        candidate = inside_root(root, name, base=image_dir)
        if candidate is None:
            break
        if (root / candidate).is_file():
            rel = candidate
            break
    if rel is None and inside_root(root, name, base=image_dirs[0] if image_dirs else root) is None:
        problems.append(Problem(f"{rel_json} image {img['id']}",
                                f"file_name {name!r} points outside the dataset folder; refused", severity="fatal"))
        return None
    if rel is None:
        problems.append(Problem(name, f"missing image file (listed in {rel_json}); left out"))
    return rel


def _check_structure(path: Path, data) -> None:
    """The file's lists, its categories and its images have the fields the reader needs (fatal if
    not: without them nothing can be matched); image ids are unique (a repeated id would silently
    give one image the other's objects)."""
    errors = [f"top level: {e}" for e in field_errors(data, TOP_LEVEL)]
    if not errors:
        for kind, entries, table, optional in (("category", data["categories"], CATEGORY, {}),
                                               ("image", data["images"], IMAGE, IMAGE_OPTIONAL)):
            for k, entry in enumerate(entries):
                errors += [f"{kind} #{k}: {e}" for e in field_errors(entry, table, optional)]
    if not errors:
        counts = Counter(img["id"] for img in data["images"])  # one pass: COCO files hold 100k+ images
        repeated = sorted((i for i, n in counts.items() if n > 1), key=str)
        if repeated:
            errors.append(f"image ids must be unique. Received the id {repeated[0]!r} on "
                          f"{counts[repeated[0]]} images" + (f" (and {len(repeated) - 1} more ids repeated)"
                                                             if len(repeated) > 1 else ""))
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise DatasetError(f"{path}: " + "; ".join(errors[:3]) + more + ".")


def _instance(ann: dict, index: dict, where: str, problems: list[Problem]) -> Instance | None:
    x, y, w, h = (float(v) for v in ann["bbox"])
    polygons: list[tuple[float, ...]] = []
    rle = None
    segmentation = ann.get("segmentation")
    if isinstance(segmentation, list):  # field_errors made it a list of lists of finite numbers
        for poly in segmentation:
            if len(poly) < 6 or len(poly) % 2:
                problems.append(Problem(where, f"polygon with fewer than 3 points ({len(poly)} numbers); polygon dropped"))
                continue
            polygons.append(tuple(float(v) for v in poly))
    elif isinstance(segmentation, dict):
        rle = segmentation
    return Instance(label=index[ann["category_id"]], box=(x, y, x + w, y + h), polygons=tuple(polygons), rle=rle,
                    iscrowd=bool(ann.get("iscrowd", 0)))
