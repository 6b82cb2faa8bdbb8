"""Packs the built-in zoo into the wheel.

The repository keeps ZazuML's layout (`models.json` and `zoo/<name>/adapter.py` at the top), which no
package-data rule can reach from `zazu/`; `build_py` copies them to `zazu/builtin_zoo/` in the build,
where `zazu.registry.builtin_zoo_root` finds them once installed. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ZOO_FILES = ("models.json",)  # at the repository's top, beside the zoo folder
ZOO_FOLDER = "zoo"
TARGET = Path("zazu") / "builtin_zoo"


class BuildPyWithZoo(build_py):
    def run(self):
        super().run()
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / TARGET
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(here / ZOO_FOLDER, target / ZOO_FOLDER,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "calibration.json"))
        for name in ZOO_FILES:
            shutil.copy2(here / name, target / name)


setup(cmdclass={"build_py": BuildPyWithZoo})
