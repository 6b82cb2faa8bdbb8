"""YOLO txt: one label file per image, `class cx cy w h` (normalised) for boxes or
`class x1 y1 x2 y2 ...` for segment polygons. Class names from data.yaml
(`names` as a list or an {index: name} map) or classes.txt.

Layouts: images/<split>/x.jpg with labels/<split>/x.txt, or images/ and labels/,
or images with their .txt beside them.
"""

from __future__ import annotations

from pathlib import Path

from zazu.data.orientation import upright_size
from zazu.data.paths import is_image_file, not_utf8_problem, read_text
from zazu.data.records import SPLIT_NAMES, TRAIN, VAL, Dataset, ImageRecord, Instance, Problem
from zazu.errors import DatasetError
from zazu.fields import class_name_errors


def read_class_names(root: Path) -> list[str] | None:
    """The class names from data.yaml (or dataset.yaml) or classes.txt; None when there is neither. Each
    name must be a non-empty string or a number, and no name may be given twice."""
    found = _class_names(root)
    if found is not None:
        source, names = found
        errors = class_name_errors(names)
        if errors:
            raise DatasetError(f"{source}: " + "; ".join(errors[:3]) + ".")
        return [str(n) for n in names]
    return None


def _class_names(root: Path) -> tuple[Path, list] | None:
    yaml_path = next((p for p in (root / "data.yaml", root / "dataset.yaml") if p.is_file()), None)
    if yaml_path is not None:
        import yaml

        try:
            data = yaml.safe_load(read_text(yaml_path)) or {}
        except yaml.YAMLError as e:
            raise DatasetError(f"{yaml_path}: cannot be parsed ({str(e).splitlines()[0]}).") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{yaml_path}: expected a mapping with `names`. Received: {type(data).__name__}")
        names = data.get("names")
        if isinstance(names, dict):
            indices = {k: _class_index(k) for k in names}
            bad = [k for k, i in indices.items() if i is None]
            if bad:
                raise DatasetError(f"{yaml_path}: `names` as a map must have class indices 0, 1, ... as keys. "
                                   f"Received: names key {bad[0]!r}")
            if sorted(indices.values()) != list(range(len(names))):
                raise DatasetError(f"{yaml_path}: `names` as a map must number the classes 0 to {len(names) - 1} "
                                   f"without gaps. Received: keys {sorted(indices.values())}")
            return yaml_path, [names[k] for k in sorted(names, key=indices.get)]
        if isinstance(names, list):
            return yaml_path, names
        raise DatasetError(f"{yaml_path}: expected `names` as a list or an index->name map. Received: {names!r}")
    classes_txt = root / "classes.txt"
    if classes_txt.is_file():
        return classes_txt, [line.strip() for line in read_text(classes_txt).splitlines() if line.strip()]
    return None


def _class_index(key) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    return int(key) if isinstance(key, str) and key.strip().isdigit() else None


def _label_path(root: Path, image: Path) -> Path:
    rel = image.relative_to(root).parts
    if "images" in rel:
        i = rel.index("images")
        parts = (*rel[:i], "labels", *rel[i + 1:])
        return (root.joinpath(*parts)).with_suffix(".txt")
    return image.with_suffix(".txt")


def read_yolo_dataset(root: str | Path) -> Dataset:
    from PIL import Image

    root = Path(root)
    classes = read_class_names(root)
    if classes is None:
        raise DatasetError(f"{root}: YOLO datasets need data.yaml (with `names`) or classes.txt for the class names.")
    image_root = root / "images" if (root / "images").is_dir() else root
    images = sorted(p for p in image_root.rglob("*") if is_image_file(p))
    problems: list[Problem] = []
    records: list[ImageRecord] = []
    given: dict[str, list[str]] = {}
    for image in images:
        rel = image.relative_to(root).as_posix()
        bad_name = not_utf8_problem(rel)  # the image's or one of its folders'
        if bad_name is not None:
            problems.append(bad_name)
            continue
        try:
            with Image.open(image) as im:
                width, height = upright_size(im)
        except Exception as e:
            problems.append(Problem(rel, f"unreadable image, left out ({type(e).__name__}: {e})"))
            continue
        label_path = _label_path(root, image)
        rel_label = label_path.relative_to(root).as_posix()
        instances = []
        if label_path.is_file():
            try:
                text = read_text(label_path)
            except DatasetError as e:  # its objects are unknown; kept without them, it would teach "nothing here"
                problems.append(Problem(rel_label, f"{str(e).removeprefix(f'{label_path}: ')}; {rel} left out"))
                continue
            for n, line in enumerate(text.splitlines(), 1):
                instance = _parse_line(line, width, height, len(classes), f"{rel_label}:{n}", problems)
                if instance is not None:
                    instances.append(instance)
        records.append(ImageRecord(rel, width=width, height=height, instances=tuple(instances), source=rel_label))
        parts = image.relative_to(image_root).parts
        if image_root.name == "images" and len(parts) > 1 and parts[0] in SPLIT_NAMES:
            given.setdefault(parts[0], []).append(rel)
    if not {TRAIN, VAL} <= set(given):
        given = {}
    return Dataset(root=root, format="yolo", classes=classes, records=records, given_split=given or None,
                   problems=problems)


def _parse_line(line: str, width: int, height: int, n_classes: int, where: str, problems) -> Instance | None:
    fields = line.split()
    if not fields:
        return None
    try:
        label = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        problems.append(Problem(where, f"expected numbers, got {line!r}; ignored"))
        return None
    if not 0 <= label < n_classes:
        problems.append(Problem(where, f"unknown class: index {label} (the dataset has {n_classes} classes); ignored"))
        return None
    if len(values) == 4:
        cx, cy, w, h = values
        box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
        return Instance(label=label, box=box)
    if len(values) < 6 or len(values) % 2:
        problems.append(Problem(where, f"polygon with fewer than 3 points ({len(values)} numbers); ignored"))
        return None
    xs = [v * width for v in values[0::2]]
    ys = [v * height for v in values[1::2]]
    polygon = tuple(c for xy in zip(xs, ys) for c in xy)
    return Instance(label=label, box=(min(xs), min(ys), max(xs), max(ys)), polygons=(polygon,))
