"""The wheel carries the built-in zoo: installed into a fresh venv, `zazu zoo list` works from any folder,
and a contributor's own zoo folder is searched beside the built-in one.

The venv borrows this environment's third-party packages (a path file, no install) so nothing is
downloaded; Zazu itself comes only from the wheel, built here without build isolation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "requirements.txt",
                "requirements-onnx.txt", "models.json")
SOURCE_FOLDERS = ("zazu", "zoo")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")  # a copy: an in-tree build writes build/ and *.egg-info
    for name in SOURCE_FILES:
        shutil.copy2(REPO / name, source / name)
    for name in SOURCE_FOLDERS:
        shutil.copytree(REPO / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "builtin_zoo", "calibration.json"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(out), str(source)], check=True, timeout=300)
    (built,) = out.glob("zazu-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv's bin folder, with the wheel installed and this environment's packages visible."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    site = Path(subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    here = sysconfig.get_paths()["purelib"]
    (site / "borrowed.pth").write_text(here + "\n")  # a plain path: this env's own .pth hooks are not run
    subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, timeout=300)
    return bin_dir


def _zazu(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ZAZU_ZOO", "PYTHONPATH")}
    env["COLUMNS"] = "400"  # rich wraps long paths and names at 80 columns
    return subprocess.run([str(bin_dir / "zazu"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_wheel_holds_the_zoo(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    entries = json.loads((REPO / "models.json").read_text(encoding="utf-8"))
    assert "zazu/builtin_zoo/models.json" in names
    assert {f"zazu/builtin_zoo/zoo/{name}/adapter.py" for name in entries} <= set(names)
    assert "zazu/builtin_zoo/zoo/README.md" in names
    assert not [n for n in names if "__pycache__" in n]


def test_installed_zazu_lists_its_zoo_from_any_folder(installed, tmp_path):
    listed = _zazu(installed, tmp_path, "zoo", "list")
    assert listed.returncode == 0, listed.stderr
    for name in json.loads((REPO / "models.json").read_text(encoding="utf-8")):
        assert name in listed.stdout
    assert "builtin_zoo" in listed.stdout  # the installed copy, not this checkout
    assert str(REPO) not in listed.stdout


def test_own_zoo_beside_the_builtin_one(installed, tmp_path):
    (tmp_path / "myzoo").mkdir()
    created = _zazu(installed, tmp_path, "zoo", "new", "my_net", "--task", "classification", "--zoo", "myzoo")
    assert created.returncode == 0, created.stderr
    assert "--zoo myzoo --zoo builtin" in created.stdout  # the next step says how to search both
    both = _zazu(installed, tmp_path, "zoo", "list", "--zoo", "myzoo", "--zoo", "builtin")
    assert both.returncode == 0, both.stderr
    assert "my_net" in both.stdout and "efficientnet_lite0" in both.stdout
    own = _zazu(installed, tmp_path, "zoo", "list", "--zoo", "myzoo")
    assert "my_net" in own.stdout and "efficientnet_lite0" not in own.stdout


def test_installed_builtin_zoo_is_not_written_into(installed, tmp_path):
    refused = _zazu(installed, tmp_path, "zoo", "new", "my_net", "--task", "classification")
    assert refused.returncode == 2
    lines = [line for line in (refused.stdout + refused.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "built-in zoo installed with Zazu" in lines[0] and "--zoo" in lines[0]
