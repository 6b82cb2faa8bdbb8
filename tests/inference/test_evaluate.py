"""`zazu evaluate`: the export's own numbers on the run's split, class names matched by name,
COCO metrics for detection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from zazu.cli import cli

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

CLASSES = ["circle", "cross", "square", "triangle"]


def evaluate(*args: str):
    return CliRunner().invoke(cli, ["evaluate", *args])


def export_info(run: Path) -> dict:
    return json.loads((run / "export" / "export.json").read_text())


@pytest.mark.parametrize("variant", ["keras", "int8"])
def test_evaluate_on_val_gives_the_accuracy_the_export_recorded(cls_run, cls_dataset, variant, tmp_path):
    info = export_info(cls_run)
    model = Path(info["files"][variant])
    if variant == "int8":  # a model moved out of its run folder: the run is named with --run
        model = Path(shutil.copy(model, tmp_path / model.name))
        extra = ["--run", str(cls_run)]
    else:  # the model in <run>/export/: its run is found
        extra = []
    out = tmp_path / "report.json"

    result = evaluate(str(model), "--data", str(cls_dataset), "--split", "val", "--output", str(out), *extra)

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    split = json.loads((cls_run / "split.json").read_text())
    assert report["images"] == len(split["val"]) == info["val_images"]
    assert report["metrics"]["accuracy"] == pytest.approx(info["metrics"][variant]["val_accuracy"], abs=1e-9)
    assert str(cls_run / "split.json") in report["split_source"]
    assert report["model"]["variant"] == variant and report["data"]["class_order"] == "same as the model's"
    # the per-class numbers and the confusion matrix describe the same predictions
    matrix = report["confusion_matrix"]["matrix"]
    assert report["confusion_matrix"]["classes"] == CLASSES
    assert sum(matrix[k][k] for k in range(4)) / report["images"] == pytest.approx(report["metrics"]["accuracy"])
    for k, name in enumerate(CLASSES):
        assert report["per_class"][name]["support"] == sum(matrix[k])
        column = sum(row[k] for row in matrix)
        assert report["per_class"][name]["precision"] == pytest.approx(matrix[k][k] / column if column else 0.0)
    assert len(report["misclassified"]) == report["images"] - sum(matrix[k][k] for k in range(4))
    png = Path(report["confusion_matrix"]["png"])
    assert png == tmp_path / "report_confusion.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"accuracy {report['metrics']['accuracy']:.4f}" in result.output


def test_default_split_is_val_on_the_runs_dataset_and_all_on_another(cls_run, cls_dataset, tmp_path):
    model = export_info(cls_run)["files"]["int8"]
    assert evaluate(model, "--output", str(tmp_path / "a.json")).exit_code == 0  # no --data: the run's dataset
    on_run_data = json.loads((tmp_path / "a.json").read_text())
    assert on_run_data["split"] == "val" and on_run_data["data"]["path"] == str(cls_dataset)
    other = tmp_path / "other"
    shutil.copytree(cls_dataset, other)
    assert evaluate(model, "--data", str(other), "--output", str(tmp_path / "b.json")).exit_code == 0
    on_other = json.loads((tmp_path / "b.json").read_text())
    assert on_other["split"] == "all" and on_other["images"] == 60
    # --split val on a copy: split as the search did (same seed and share), so the same images
    assert evaluate(model, "--data", str(other), "--split", "val", "--output", str(tmp_path / "c.json")).exit_code == 0
    val_of_copy = json.loads((tmp_path / "c.json").read_text())
    assert "split as a search would, with the run's settings (seed=0, val_split=0.2" in val_of_copy["split_source"]
    assert val_of_copy["images"] == 12 and val_of_copy["metrics"] == on_run_data["metrics"]
    assert val_of_copy["confusion_matrix"]["matrix"] == on_run_data["confusion_matrix"]["matrix"]


def test_dataset_classes_in_another_order_are_remapped_by_name(cls_run, cls_dataset, tmp_path):
    """A dataset holding only square and triangle numbers them 0 and 1; the model calls them 2 and 3."""
    from zazu.inference import Predictor

    model = export_info(cls_run)["files"]["int8"]
    subset = tmp_path / "subset"
    for name in ("square", "triangle"):
        shutil.copytree(cls_dataset / name, subset / name)
    out = tmp_path / "subset.json"

    result = evaluate(model, "--data", str(subset), "--output", str(out))

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["data"]["classes"] == ["square", "triangle"]
    assert report["data"]["class_order"] == "remapped by name to the model's"
    matrix = report["confusion_matrix"]["matrix"]
    assert [sum(row) for row in matrix] == [0, 0, 15, 15]  # true classes counted under the model's numbers
    predictor = Predictor(model)
    wrong = set()
    for path in sorted(subset.glob("*/*.png")):
        if predictor.predict_file(path)["label"] != path.parent.name:
            wrong.add(f"{path.parent.name}/{path.name}")
    assert {m["image"] for m in report["misclassified"]} == wrong
    assert report["metrics"]["accuracy"] == pytest.approx(1 - len(wrong) / 30)


def test_a_class_the_model_does_not_know_is_an_error_naming_it(cls_run, cls_dataset, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(cls_dataset / "circle", data / "circle")
    shutil.copytree(cls_dataset / "cross", data / "hexagon")

    model = export_info(cls_run)["files"]["keras"]
    result = evaluate(model, "--data", str(data), "--output", str(tmp_path / "r.json"))

    assert result.exit_code == 2
    assert "the model does not know class 'hexagon' (15 labels)" in result.output
    assert "Expected classes among the model's: circle, cross, square, triangle" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r.json").exists()


def test_test_split_of_a_run_without_one_is_a_clear_error(cls_run, tmp_path):
    result = evaluate(export_info(cls_run)["files"]["int8"], "--split", "test", "--output", str(tmp_path / "r.json"))

    assert result.exit_code == 2
    assert "has no test images" in result.output and "Received: --split test" in result.output


def test_detection_model_is_scored_with_coco_metrics(detection_run, shapes_instances_dataset, tmp_path):
    info = export_info(detection_run)
    model = info["files"]["keras"]
    out = tmp_path / "det.json"

    result = evaluate(model, "--data", str(shapes_instances_dataset), "--split", "val", "--output", str(out))

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["task"] == "detection" and report["images"] == info["val_images"]
    # AP by size only for the sizes with objects: -1 (no ground truth) is left out, not reported as 0
    sizes = {f"mAP_{size}" for size, v in report["AP_by_size"].items() if v["instances"]}
    assert sizes and set(report["metrics"]) == {"mAP", "mAP50", "mAP75"} | sizes
    for key, value in report["metrics"].items():
        assert value == pytest.approx(info["metrics"]["keras"][f"val_{key}"], abs=1e-9), key
    assert "confusion_matrix" not in report
    for name, v in report["per_class_AP"].items():
        assert set(v) == {"AP", "AP50", "instances"} and v["AP50"] >= v["AP"] and v["instances"] > 0, name
    assert "AP per class" in result.output and "AP by object size" in result.output

    result = evaluate(model, "--data", str(shapes_instances_dataset), "--split", "all", "--output", str(out))
    assert result.exit_code == 0 and json.loads(out.read_text())["images"] == 10


def test_detection_model_refuses_a_folder_dataset(detection_run, cls_dataset, tmp_path):
    result = evaluate(export_info(detection_run)["files"]["keras"], "--data", str(cls_dataset),
                      "--output", str(tmp_path / "r.json"))

    assert result.exit_code == 2
    assert "the model's task is detection, which needs COCO, Pascal VOC or YOLO annotations" in result.output


def test_detection_classes_in_another_order_are_remapped_by_name(detection_run, shapes_instances_dataset,
                                                                 tmp_path, monkeypatch):
    """The COCO categories renumbered in reverse: a model predicting the ground truth (in its own
    class numbering) must still score mAP 1, which it only does when labels are matched by name."""
    import numpy as np

    from zazu.data.readers import read_dataset
    from zazu.inference import Predictor
    from zazu.metrics.coco import Prediction

    data = tmp_path / "reordered"
    shutil.copytree(shapes_instances_dataset, data)
    coco_file = data / "annotations" / "instances.json"
    coco = json.loads(coco_file.read_text())
    top = max(c["id"] for c in coco["categories"]) + 1
    coco["categories"] = [{**c, "id": top - c["id"]} for c in coco["categories"]]
    coco["annotations"] = [{**a, "category_id": top - a["category_id"]} for a in coco["annotations"]]
    coco_file.write_text(json.dumps(coco))
    original = read_dataset(shapes_instances_dataset)
    truth = {Path(r.path).name: r for r in original.records}

    def ground_truth(self, data, name):
        instances = truth[Path(name).name].instances
        return Prediction(np.array([i.box for i in instances], np.float32).reshape(-1, 4),
                          np.ones(len(instances), np.float32), np.array([i.label for i in instances])), None

    monkeypatch.setattr(Predictor, "predict_native", ground_truth)
    out = tmp_path / "det.json"

    result = evaluate(export_info(detection_run)["files"]["keras"], "--data", str(data), "--output", str(out))

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["data"]["classes"] == original.classes[::-1]
    assert report["data"]["class_order"] == "remapped by name to the model's"
    assert report["images"] == 10 and report["metrics"]["mAP"] == pytest.approx(1.0)
    objects = {name: 0 for name in original.classes}
    for record in original.records:
        for instance in record.instances:
            objects[original.classes[instance.label]] += 1
    assert report["per_class_AP"] == {name: {"AP": pytest.approx(1.0), "AP50": pytest.approx(1.0), "instances": n}
                                      for name, n in objects.items()}
    assert sum(v["instances"] for v in report["AP_by_size"].values()) == sum(objects.values())
    for size, v in report["AP_by_size"].items():
        assert report["metrics"].get(f"mAP_{size}") == (pytest.approx(1.0) if v["instances"] else None), size
    assert "AP per class (worst first)" in result.output
