"""Folder-per-class reader: root/<class>/<image>, or root/{train,val[,test]}/<class>/<image>."""

from __future__ import annotations

from pathlib import Path

from zazu.data.paths import IMAGE_SUFFIXES, UNSUPPORTED_IMAGE_SUFFIXES, is_image_file, not_utf8, not_utf8_problem
from zazu.data.records import SPLIT_NAMES, TRAIN, VAL, Dataset, ImageRecord, Problem
from zazu.errors import DatasetError



def _class_dirs(folder: Path, root: Path | None = None, problems: list[Problem] | None = None) -> list[Path]:
    """The class folders in `folder`; one whose name is not UTF-8 is left out (a warning in `problems`)."""
    dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if problems is not None:
        problems.extend(p for d in dirs if (p := not_utf8_problem(
            d.relative_to(root).as_posix(), "class folder name", "its images are left out")) is not None)
    return [d for d in dirs if not_utf8(d.name) is None]


def _readable(path: Path) -> str | None:
    """None if PIL can read the whole image, else the reason."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()  # decodes fully: catches truncated files, not just bad headers
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def read_folder_dataset(root: str | Path) -> Dataset:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Dataset folder not found. Expected a folder of class folders. Received: {root}")
    top = _class_dirs(root)
    split_dirs = [d for d in top if d.name in SPLIT_NAMES]
    has_given_split = {d.name for d in split_dirs} >= {TRAIN, VAL}
    groups = split_dirs if has_given_split else [root]
    classes = sorted({c.name for g in groups for c in _class_dirs(g)})
    if not classes:
        raise DatasetError(
            f"{root}: no class folders found. Expected folder-per-class layout: {root}/<class name>/<image files>."
        )
    index = {name: i for i, name in enumerate(classes)}
    records: list[ImageRecord] = []
    given: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for group in groups:
        for class_dir in _class_dirs(group, root, problems):
            for path in sorted(class_dir.iterdir()):
                if is_image_file(path) or (path.is_file() and path.suffix.lower() in UNSUPPORTED_IMAGE_SUFFIXES):
                    bad_name = not_utf8_problem(path.relative_to(root).as_posix())
                    if bad_name is not None:
                        problems.append(bad_name)
                        continue
                if not is_image_file(path):
                    if path.is_file() and path.suffix.lower() in UNSUPPORTED_IMAGE_SUFFIXES:
                        problems.append(Problem(path.relative_to(root).as_posix(),
                                                f"{path.suffix.lower()} images are not supported (expected "
                                                f"{', '.join(IMAGE_SUFFIXES)}); left out"))
                    continue
                rel = path.relative_to(root).as_posix()
                problem = _readable(path)
                if problem:
                    problems.append(Problem(rel, f"unreadable image, left out ({problem})"))
                    continue
                records.append(ImageRecord(rel, index[class_dir.name]))
                if has_given_split:
                    given.setdefault(group.name, []).append(rel)
    if not records:
        raise DatasetError(f"{root}: no readable images ({', '.join(IMAGE_SUFFIXES)}) in the class folders.")
    empty = [c for c in classes if not any(r.label == index[c] for r in records)]
    if empty:
        raise DatasetError(f"{root}: class folder(s) {', '.join(empty)} hold no readable image.")
    if len(classes) < 2:  # one class: every prediction is right and the accuracy says nothing
        problems.append(Problem(str(root), "a classification dataset needs at least two class folders with images. "
                                           f"Received: 1 class ({classes[0]})", severity="fatal"))
    return Dataset(root=root, format="folder", classes=classes, records=records,
                   given_split=given or None, problems=problems)
