"""run.json records the code a run ran (Zazu's sources, not only the zoo adapters it copies), and a resume
after an edit to `zazu/` warns, naming the files."""

from __future__ import annotations

import json

from zazu.search.code_record import code_changes, code_record


def _package(root):
    package = root / "zazu"
    (package / "nn").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "runs.py").write_text("A = 1\n")
    (package / "nn" / "boxes.py").write_text("B = 2\n")
    (package / "defaults.yaml").write_text("epochs: 3\n")
    return package


def test_the_record_names_every_source_file_and_a_change_is_named(tmp_path):
    package = _package(tmp_path)
    recorded = code_record(package)
    assert sorted(recorded["files"]) == ["zazu/__init__.py", "zazu/defaults.yaml", "zazu/nn/boxes.py", "zazu/runs.py"]
    assert recorded["git_commit"] is None  # not a git checkout
    assert code_changes(recorded, package) is None

    (package / "nn" / "boxes.py").write_text("B = 3\n")
    (package / "nn" / "anchors.py").write_text("C = 4\n")
    (package / "runs.py").unlink()
    warning = code_changes(json.loads(json.dumps(recorded)), package)  # as read back from run.json
    assert "changed: zazu/nn/boxes.py; new: zazu/nn/anchors.py; removed: zazu/runs.py" in warning


def test_a_run_predating_the_record_resumes_without_a_warning():
    assert code_changes(None) is None and code_changes({"zazu_version": "0.1.0"}) is None


def test_a_search_records_its_code_and_a_resume_after_an_edit_warns(duck_zoo, shapes_dataset, tmp_path):
    from zazu.config import resolve_config
    from zazu.console import Reporter
    from zazu.registry import Registry
    from zazu.run_records import update_manifest
    from zazu.search.driver import resume_search, run_search

    config = resolve_config(overrides={"zoo": str(duck_zoo), "models": ["good"], "max_trials": 1,
                                       "output": str(tmp_path / "run"), "data": {"home_path": str(shapes_dataset)}})
    run_dir = run_search(config, Reporter(quiet=True), registry=Registry.load(duck_zoo)).run_dir
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["code"]["sources_sha256"] == code_record()["sources_sha256"]
    assert "zazu/search/driver.py" in manifest["code"]["files"]

    manifest["code"]["files"]["zazu/nn/boxes.py"] = "0" * 64  # as if boxes.py was edited after the run started
    manifest["code"]["sources_sha256"] = "0" * 64
    (run_dir / "run.json").write_text(json.dumps(manifest))
    update_manifest(run_dir, status="interrupted")
    warnings = []

    class Recording(Reporter):
        def warning(self, text):
            warnings.append(text)

    resume_search(run_dir, Recording(quiet=True))
    assert [w for w in warnings if "changed: zazu/nn/boxes.py" in w], warnings
