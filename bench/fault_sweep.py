"""Faults and careless use, through the CLI: each case of issue 28's sweep, run as a user would.

    python bench/fault_sweep.py [--work DIR] [--quick]

Trains one tiny run first (tiny_cnn, 1 trial, 1 epoch, about a minute), then runs every case in a
child process and prints a table: the case, the exit code, the `error:` line (or the last line),
whether a traceback was printed and whether every file that existed before is byte-identical.
The suite holds the same checks as tests (tests/test_fuzz_faults.py and the files it names); this
script is the one table of them all. `--quick` runs only the cases that need no trained run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "200"}


def zazu(*args: str, cwd: Path, env: dict | None = None, limit: int | None = None, timeout: int = 300):
    def fsize():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env={**ENV, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, preexec_fn=fsize)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def said(result) -> str:
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    return (errors or lines[-1:] or [""])[0][:220]


def row(case: str, result, before: dict, root: Path) -> dict:
    after = snapshot(root)
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    return {"case": case, "exit": result.returncode, "traceback": "Traceback" in result.stderr + result.stdout,
            "unchanged": not changed, "said": said(result)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="only the cases that need no trained run")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="zazu-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    run = work / "run"
    if not args.quick and not (run / "export" / "model_int8.tflite").is_file():
        done = zazu("train", "--model", "tiny_cnn", "--epochs", "1", "--output", str(run), cwd=work)
        assert done.returncode == 0, done.stderr[-2000:]
    model = run / "export" / "model_int8.tflite"
    if args.quick:  # a stand-in model file: these refusals come before a model is read
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"TFL3 stand-in")
    photos = work / "photos"
    shutil.rmtree(photos, ignore_errors=True)
    photos.mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (40, 40), (60 * i, 90, 30)).save(photos / f"p{i}.png")
    rows = []

    def case(name: str, *argv: str, root: Path = work, **kw):
        before = snapshot(root)
        rows.append(row(name, zazu(*argv, cwd=work, **kw), before, root))

    # lost work
    case("evaluate --output MODEL", "evaluate", str(model), "--data", str(photos), "--output", str(model))
    case("predict --draw --output IMAGES", "predict", str(model), str(photos), "--draw", "--output", str(photos))
    if not args.quick:
        run_cases(run, work, rows, case)
    quick_cases(work, rows, case, Image)
    print_table(rows, started, work)


def run_cases(run: Path, work: Path, rows: list, case) -> None:
    """The cases on a trained run folder."""
    case("export on a full disk (ulimit -f 200)", "export", str(run), limit=200 * 1024)
    # a kill -9 in the middle of an export
    before = snapshot(run / "export")
    child = subprocess.Popen([sys.executable, str(REPO / "main.py"), "export", str(run)], cwd=work, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not any(run.glob(".export.*.partial/model.keras")) and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    after = snapshot(run / "export")
    rows.append({"case": "kill -9 during export", "exit": child.returncode, "traceback": False,
                 "unchanged": before == after, "said": "(killed) export/ byte-identical: " + str(before == after)})
    edited = work / "edited"
    shutil.rmtree(edited, ignore_errors=True)
    shutil.copytree(run, edited)
    manifest = json.loads((edited / "run.json").read_text())
    (edited / "run.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    (edited / "config.yaml").write_text((edited / "config.yaml").read_text().replace("task: classification",
                                                                                     "task: detection"))
    case("resume after config.yaml edited to another task", "--resume", str(edited), root=edited)
    crafted_case(run, work, rows, case)


def quick_cases(work: Path, rows: list, case, Image) -> None:
    """The cases that need no trained run."""
    # places that cannot be written
    (work / "afile").write_text("x")
    case("cache location is a file", "--task", "classification", "--output", str(work / "c1"),
         env={"ZAZU_CACHE": str(work / "afile")})
    case("--output under a file", "--task", "classification", "--output", str(work / "afile" / "run"))
    # limits
    case("--time-budget 1e308", "--task", "classification", "--time-budget", "1e308", "--output", str(work / "c2"))
    (work / "myzoo").mkdir(exist_ok=True)
    case("zoo new with a 300-character name", "zoo", "new", "n" * 300, "--task", "classification", "--zoo",
         str(work / "myzoo"))
    case("train --hp input_size=8 --hp depth=4", "train", "--model", "tiny_cnn", "--hp", "input_size=8", "--hp",
         "depth=4", "--epochs", "1", "--output", str(work / "c3"))
    # silently wrong before
    (work / "twice.yaml").write_text("task: classification\nmax_trials: 1\nmax_trials: 999\n")
    case("config with max_trials twice", "--config", str(work / "twice.yaml"), "--output", str(work / "c4"))
    entry = json.dumps({"task": "classification"})
    (work / "dupzoo").mkdir(exist_ok=True)
    (work / "dupzoo" / "models.json").write_text(f'{{"a": {entry}, "a": {entry}}}')
    case("models.json with an entry twice (zoo check)", "zoo", "check", "--zoo", str(work / "dupzoo"))
    for priority in ("accuracy=nan", "speed=11", "accuracy=1e999", "accuracy=9,accuracy=1"):
        case(f"zoo rank --priority {priority}", "zoo", "rank", "--task", "classification", "--priority", priority)
    coco = work / "emptycoco"
    (coco / "images").mkdir(parents=True, exist_ok=True)
    for i in range(3):
        Image.new("RGB", (64, 48)).save(coco / "images" / f"{i}.png")
    (coco / "annotations.json").write_text(json.dumps({
        "images": [{"id": i, "file_name": f"images/{i}.png", "width": 64, "height": 48} for i in range(3)],
        "annotations": [], "categories": [{"id": 1, "name": "thing"}]}))
    case("COCO with annotations: []", "--task", "detection", "--data", str(coco), "--output", str(work / "c5"))


def crafted_case(run: Path, work: Path, rows: list, case) -> None:
    """Trust: a run folder whose adapter was edited and its digest rewritten."""
    crafted = work / "crafted"
    shutil.rmtree(crafted, ignore_errors=True)
    shutil.copytree(run, crafted)
    adapter = crafted / "models" / "zoo" / "tiny_cnn" / "adapter.py"
    marker = work / "crafted-code-ran"
    marker.unlink(missing_ok=True)
    adapter.write_text(f"open({str(marker)!r}, 'w').close()\n" + adapter.read_text())
    manifest = json.loads((crafted / "run.json").read_text())
    for model_entry in manifest["models"]:
        model_entry["adapter_sha256"] = "sha256:" + hashlib.sha256(adapter.read_bytes()).hexdigest()
    (crafted / "run.json").write_text(json.dumps(manifest))
    case("export of a crafted run folder", "export", str(crafted), root=crafted)
    rows[-1]["said"] += f" | crafted code ran: {marker.exists()}"


def print_table(rows: list, started: float, work: Path) -> None:
    print(f"| case | exit | traceback | files unchanged | printed |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['case']} | {r['exit']} | {'yes' if r['traceback'] else 'no'} | "
              f"{'yes' if r['unchanged'] else 'NO'} | {r['said'].replace('|', '/')} |")
    print(f"\n{len(rows)} cases in {time.time() - started:.0f} s; work folder {work}")


if __name__ == "__main__":
    main()
