"""Where `predict` and `evaluate` may write: never over their own inputs.

A command's output naming its input (`evaluate MODEL --output MODEL`, `predict M photos/ --draw
--output photos/`) would replace the user's model or photos with results. Checked before any work,
one ConfigError naming the flag, the path and what it would damage (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from zazu.errors import ConfigError


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_predict_output(output: str | Path, model: str | Path, images: str | Path, files: list[Path],
                         draw: bool) -> None:
    """`predict`'s results folder must not be the images' folder (or inside it), and no result file
    (<image>.json, <image>.png, skipped.json) may land on an input image or the model."""
    out = _resolved(output)
    source = _resolved(images)
    folder = source if source.is_dir() else source.parent
    if _inside(out, folder):
        raise ConfigError(f"--output {output} is inside the folder of the images to predict ({folder}): results "
                          "would be written among (and over) them. Expected a separate folder. "
                          f"Received: --output {output}")
    inputs = {_resolved(p) for p in files} | {_resolved(model)}
    stems = [p.stem for p in files]
    planned = [out / "skipped.json"]
    for path in files:
        base = path.stem if stems.count(path.stem) == 1 else path.name
        planned += [out / f"{base}.json"] + ([out / f"{base}.png"] if draw else [])
    clash = next((p for p in planned if p in inputs), None)
    if clash is not None:
        raise ConfigError(f"--output {output}: the result file {clash} would replace an input of this command. "
                          f"Expected a folder holding none of the inputs. Received: --output {output}")


def check_evaluate_output(output: str | Path, model: str | Path, data: str | Path | None,
                          confusion_png: bool = True) -> None:
    """`evaluate`'s report (and its `<stem>_confusion.png`) must not be the model, and not land in the
    dataset it reads (a .json there could even be read as annotations next time)."""
    report = _resolved(output)
    planned = [report] + ([report.with_name(report.stem + "_confusion.png")] if confusion_png else [])
    model_path = _resolved(model)
    for path in planned:
        if path == model_path:
            raise ConfigError(f"--output {output} is the model being evaluated: the report would replace it. "
                              f"Expected another file. Received: --output {output}")
        if data is not None and _inside(path, _resolved(data)):
            raise ConfigError(f"--output {output} is inside the dataset being read ({data}): the report would "
                              f"change it. Expected a file outside it. Received: --output {output}")
