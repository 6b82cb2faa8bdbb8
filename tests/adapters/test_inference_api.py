"""The adapters' inference API: built from a model file's metadata, scoring explicit records."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.data.records import ImageRecord, Instance
from zazu.registry import Registry


def _for_inference(model: str, classes: list[str]):
    from zazu.ranking import default_hyperparameters

    spec = Registry.load().get(model)
    return spec.adapter_class.for_inference({"model": model, "task": spec.task, "classes": classes,
                                             "hyperparameters": {**default_hyperparameters(spec), "input_size": 32}})


def test_an_adapter_for_inference_carries_the_metadata_it_was_built_from():
    adapter = _for_inference("tiny_cnn", ["cat", "dog"])
    assert adapter.classes == ["cat", "dog"]
    assert adapter.hp["input_size"] == 32 and adapter.model_specs["name"] == "tiny_cnn"
    assert adapter.trial_dir is None  # nothing to write: inference needs no trial folder


def test_classification_scores_the_records_it_is_given_and_names_the_misclassified():
    adapter = _for_inference("tiny_cnn", ["cat", "dog", "owl"])
    records = [ImageRecord("cat/1.png", 0), ImageRecord("dog/2.png", 1), ImageRecord("owl/3.png", 2),
               ImageRecord("owl/4.png", 2)]
    predictions = [np.array([0.9, 0.1, 0.0]), np.array([0.2, 0.7, 0.1]), np.array([0.6, 0.1, 0.3]),
                   np.array([0.1, 0.1, 0.8])]
    metrics, details = adapter.score_records(predictions, records)
    assert metrics == {"val_accuracy": 0.75}
    assert details["misclassified"] == [{"image": "owl/3.png", "label": "owl", "predicted": "cat", "score": 0.6}]
    assert details["confusion_matrix"]["matrix"][2] == [1, 0, 1]  # owl: once taken for a cat


def test_detection_scores_against_the_records_given_not_a_val_split():
    from zazu.metrics.coco import Prediction

    adapter = _for_inference("centernet", ["circle", "square"])
    records = [ImageRecord("a.png", width=64, height=64, instances=(Instance(0, (10.0, 10.0, 30.0, 30.0)),))]
    hit = Prediction(np.array([[10.0, 10.0, 30.0, 30.0]]), np.array([0.9]), np.array([0]), [])
    miss = Prediction(np.array([[40.0, 40.0, 60.0, 60.0]]), np.array([0.9]), np.array([0]), [])
    # a val split the adapter happens to hold, where `miss` would be the hit: it must not be read
    adapter.val_records = [ImageRecord("b.png", width=64, height=64, instances=(Instance(0, (40.0, 40.0, 60.0, 60.0)),))]
    assert adapter.score_records([hit], records)[0]["val_mAP50"] == pytest.approx(1.0)
    metrics, details = adapter.score_records([miss], records)
    assert metrics["val_mAP50"] == pytest.approx(0.0)
    assert set(details["per_class_AP"]) <= {"circle", "square"}


def test_a_hyperparameter_the_entry_lacks_is_named_with_where_it_belongs():
    from zazu.adapters.base import MissingHyperparameter

    with pytest.raises(MissingHyperparameter) as error:  # the detector's coder reads it when readied
        Registry.load().get("centernet").adapter_class.for_inference(
            {"model": "centernet", "task": "detection", "classes": ["a"], "hyperparameters": {"input_size": 64}})
    assert str(error.value) == ("hyperparameter `head_channels` is not in the models.json entry of centernet. Expected "
                                "it in the entry's training_configs or hp_search_space. Received: input_size")


def test_segmentation_reports_mask_ap_by_size_and_details_from_the_masks():
    from zazu.data.masks import mask_to_rle
    from zazu.metrics.coco import Prediction

    adapter = _for_inference("protonet", ["circle", "square"])
    square = (10, 10, 30, 10, 30, 30, 10, 30)  # a 20x20 object: small (< 32²)
    records = [ImageRecord("a.png", width=64, height=64,
                           instances=(Instance(0, (10.0, 10.0, 30.0, 30.0), polygons=(square,)),))]
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 10:30] = 1
    box = np.array([[10.0, 10.0, 30.0, 30.0]])
    # the box is right but the mask half empty (mask IoU 0.5: a hit at the 0.5 threshold only, 1 of 10)
    half = mask.copy()
    half[20:30] = 0
    metrics, details = adapter.score_records([Prediction(box, np.array([0.9]), np.array([0]), [mask_to_rle(half)])],
                                             records)
    assert metrics["val_mAP"] == pytest.approx(1.0)
    assert metrics["val_mask_mAP"] == pytest.approx(0.1)
    assert metrics["val_mask_mAP_small"] == pytest.approx(0.1)
    assert not {"val_mask_mAP_medium", "val_mask_mAP_large", "val_mAP_small"} & set(metrics)
    assert details["per_class_AP"] == {"circle": {"AP": pytest.approx(0.1), "AP50": pytest.approx(1.0),
                                                  "instances": 1}}
    assert details["AP_by_size"]["small"]["instances"] == 1
