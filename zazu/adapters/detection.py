"""Base adapter for object detection: a zoo model writes `make_coder()` (and `build()` only for a
network that is not backbone -> pyramid -> heads).

The coder (e.g. `zazu.nn.centernet.CenterNetCoder`, `zazu.nn.retinanet.RetinaNetCoder`)
owns what differs between detector families: the heads, the training targets,
the losses and the decoding. This class does the rest: letterboxed data with
box-aware augmentation, training with a keep-best checkpoint, COCO mAP in
original image coordinates, and int8 export (network only: decoding and NMS run
outside it) scored the same way.

Hyperparameters read from `self.hp`: `DetectionAdapter.hyperparameters` (name, default, meaning),
`zazu zoo hyperparameters detection` prints them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zazu.adapters import cached_features, fitting
from zazu.adapters.base import BaseAdapter
from zazu.adapters.cached_features import HEADS_LAYER
from zazu.adapters.instance_data import encoded_targets, instance_pipeline
from zazu.adapters.hyperparameters import Hyperparameter, declare
from zazu.adapters.transfer import TRANSFER_HYPERPARAMETERS, has_pretrained_backbone
from zazu.atomic_io import atomic_write_json
from zazu.tasks import DETECTION



class DetectionAdapter(BaseAdapter):
    task = DETECTION
    iou_type = "bbox"
    uses_masks = False
    reload_compiled = False  # the coders' losses are closures
    hyperparameters = declare(
        BaseAdapter.hyperparameters,
        Hyperparameter("batch_size", 16, "images per training batch", (int, 1, 1024)),
        Hyperparameter("patience", 8, "epochs without a lower val_loss before early stopping", (int, 1, 100000)),
        # the instance caps: zazu.search.data_fit only raises them, to fit the data's crowds
        Hyperparameter("max_instances", 50, "training targets kept per image"),
        Hyperparameter("max_detections", 100, "detections kept per image after NMS"),
        Hyperparameter("score_threshold", 0.05, "detections scored below it are dropped before NMS"),
        Hyperparameter("nms_iou", 0.5, "overlap above which NMS drops the lower-scored box of a class"),
        Hyperparameter("backbone", "simple", "a zazu.nn.backbones name"),
        Hyperparameter("fpn_channels", 64, "channels of the feature pyramid"),
        Hyperparameter("weights", None, "null (from scratch), imagenet, or a .pth / .weights.h5 file"),
        *TRANSFER_HYPERPARAMETERS,
    )

    def __init__(self, model_specs, hp_values, coder=None):
        """`coder`: the detector family's coder, injected (a test's, an experiment's); None (the default):
        the entry's own, `make_coder()`, made when first needed, once the classes are known."""
        super().__init__(model_specs, hp_values)
        self._coder = coder
        self.classes = None  # known after data_loader() or prepare_inference()
        self.mosaic_schedule = None  # set by preprocess() when the run's augmentation closes its mosaics

    @property
    def coder(self):
        if self._coder is None:
            if self.classes is None:
                raise ValueError(f"{type(self).__name__}.coder is needed before the classes are known. Expected "
                                 "data_loader() (or prepare_inference()) to run first.")
            self._coder = self.make_coder()
        return self._coder

    # -- what a zoo model writes ------------------------------------------------------
    def make_coder(self):
        """Return the coder of this detector family, built from `self.input_size`,
        `self.num_classes` and `self.hp`."""
        raise NotImplementedError(f"{type(self).__name__}.make_coder() must return a detection coder.")

    def build(self):
        """An uncompiled `keras.Model`: image -> backbone (`backbone` hp, from `zazu.nn.backbones`) ->
        feature pyramid over `self.coder.strides` (`fpn_channels` hp) -> `self.coder.outputs`.
        With a pretrained backbone, pyramid and heads are one nested model (`heads`), so the frozen
        phase can train them on cached backbone features. Override it for another shape of network."""
        import keras

        from zazu.nn.backbones import build_backbone

        inputs = self.image_input()
        features = build_backbone(self.hp["backbone"], inputs, self.hp)
        self.head_strides = [s for s in sorted(features) if s in self.coder.strides]
        if has_pretrained_backbone(self.hp):
            feature_inputs = [keras.Input(features[s].shape[1:], name=f"features_{s}") for s in self.head_strides]
            heads = keras.Model(feature_inputs, self.heads(dict(zip(self.head_strides, feature_inputs))),
                                name=HEADS_LAYER)
            outputs = heads([features[s] for s in self.head_strides])
        else:
            outputs = self.heads({s: features[s] for s in self.head_strides})
        return keras.Model(inputs, outputs, name=str(self.model_specs.get("name", "detector")))

    def heads(self, features: dict[int, object]) -> list:
        """Backbone features {stride: tensor} -> pyramid (`fpn_channels` hp) -> the coder's outputs."""
        from zazu.nn.backbones import fpn

        return self.coder.outputs(fpn(features, self.coder.strides, int(self.hp["fpn_channels"])))

    # -- lifecycle ----------------------------------------------------------------------------
    def data_loader(self) -> None:
        dataset, sides = self.load_split()
        self.dataset = dataset
        self.classes = dataset.classes
        self.train_records = sides["train"]
        self.val_records = sides["val"]

    def preprocess(self) -> None:
        import tensorflow as tf

        from zazu.data.pipeline import feed

        def to_xy(batch):
            boxes = batch["bounding_boxes"]
            masks = [batch["segmentation_masks"]] if self.uses_masks else []
            return batch["images"], encoded_targets(self.coder, boxes["boxes"], boxes["labels"], *masks)

        from zazu.data.augment import mosaic_schedule

        augment = self.augmentation()
        self.mosaic_schedule = mosaic_schedule(augment, self.hp["epochs"], self.model_specs.deadline)
        train, _ = instance_pipeline(self, self.train_records, True, augment, self.mosaic_schedule)
        val, self.val_targets = instance_pipeline(self, self.val_records, False, None)
        self.train_ds = feed(train.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE))
        self.val_ds = feed(val.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE))
        self.val_images = val.map(lambda b: b["images"])

    def fit_callbacks(self) -> list:
        callback = self.mosaic_schedule.callback() if self.mosaic_schedule is not None else None
        return [callback] if callback is not None else []

    def before_fit(self, initial_epoch: int) -> None:
        if self.mosaic_schedule is not None:
            self.mosaic_schedule.start_at(initial_epoch)  # the epochs from here on count from this one

    def compile_for(self, learning_rate: float) -> None:
        import keras

        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=10.0), loss=self.coder.losses())

    def train(self) -> None:
        from functools import partial

        nested_heads = HEADS_LAYER in {layer.name for layer in self.model.layers}
        fitting.fit_in_phases(self, "val_loss", "min", partial(cached_features.fit_heads, self) if nested_heads else None)

    # -- prediction and metrics -------------------------------------------------------------
    resize = "letterbox"

    def prepare_inference(self, classes) -> None:
        super().prepare_inference(classes)
        self.coder  # made now: an entry the coder cannot be made from fails when the model is loaded, not later

    def postprocess(self, outputs, context: dict):
        """One image's network outputs -> Prediction in the original image's pixels.
        `context`: {"scale": original -> input pixels, "height", "width"} of the original image."""
        from zazu.metrics.coco import Prediction
        from zazu.nn.boxes import batched_nms

        decoded = self.coder.decode(outputs, float(self.hp["score_threshold"]),
                                    int(self.hp["max_detections"]))
        boxes, scores, labels = decoded[:3]
        keep = batched_nms(boxes, scores, labels, float(self.hp["nms_iou"]),
                           int(self.hp["max_detections"]))
        return Prediction(boxes[keep] / context["scale"], scores[keep], labels[keep])

    def decode_outputs(self, outputs, context):
        return self.postprocess([o[0] for o in outputs], context)

    def val_image_paths(self) -> list[str]:
        return [self.dataset.abspath(r) for r in self.val_records]

    def prediction_json(self, prediction) -> dict:
        detections = []
        for k in range(len(prediction.scores)):
            label = int(prediction.labels[k])
            detection = {"label": self.classes[label], "class_id": label, "score": float(prediction.scores[k]),
                         "box": [round(float(v), 2) for v in prediction.boxes[k]]}
            if prediction.masks:
                rle = prediction.masks[k]
                counts = rle["counts"]
                detection["mask"] = {"size": list(rle["size"]),
                                     "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}
            detections.append(detection)
        return {"detections": detections, "box_format": "xyxy, original image pixels"}

    def score_records(self, predictions, records) -> tuple[dict[str, float], dict]:
        """COCO mAP, mAP50, mAP75 and AP per object size (pycocotools); details: each class's AP, AP50 and
        objects, and the objects of each size (`zazu.metrics.coco.coco_metrics`)."""
        from zazu.metrics.coco import coco_metrics

        return coco_metrics(records, predictions, self.classes, self.iou_type)

    def get_metrics(self) -> dict[str, float]:
        metrics, details = self.score_records(predict_val_batched(self), self.val_records)
        if self.trial_dir is not None:  # {"per_class_AP": {class: {AP, AP50, instances}}, "AP_by_size": {...}}
            atomic_write_json(self.trial_dir / "per_class_ap.json", details)
        return {**metrics, "val_loss": float(min(self.history.get("val_loss", [float("nan")]))),
                "epochs_trained": float(len(self.history.get("loss", [])))}

    def draw_prediction(self, image, prediction, min_score: float = 0.3):
        from zazu.data.masks import rle_to_mask
        from zazu.data.preview import draw_sample

        keep = prediction.scores >= min_score
        masks = None
        if prediction.masks and keep.any():
            masks = np.stack([rle_to_mask(m) for m, k in zip(prediction.masks, keep) if k], -1)
        return draw_sample(image, self.classes, prediction.boxes[keep], prediction.labels[keep], masks)

    # -- export -------------------------------------------------------------------------------
    def representative_images(self, limit: int = 100):
        from zazu.data.pipeline import representative_images

        return representative_images([self.dataset.abspath(r) for r in self.train_records], self.input_size,
                                     limit, letterbox=True)

    def write_export_extras(self, out_dir: Path, predictions: dict[str, list]) -> None:
        """The most quantized variant's predictions drawn on val images, into out_dir/predictions."""
        for variant in ("int8", "dynamic", "float16", "float32", "keras"):
            if variant in predictions:
                draw_val_predictions(self, predictions[variant], Path(out_dir) / "predictions")
                return


def predict_val_batched(adapter) -> list:
    """A detector's float model on its val split, batched through the val pipeline (fast, for trials)."""
    predictions = []
    for images in adapter.val_images:
        outputs = [np.asarray(o) for o in adapter.model.predict_on_batch(images)]
        for i in range(outputs[0].shape[0]):
            predictions.append(adapter.postprocess([o[i] for o in outputs], _val_context(adapter, len(predictions))))
    return predictions


def _val_context(adapter, k: int) -> dict:
    record = adapter.val_records[k]
    return {"scale": float(adapter.val_targets.scales[k]), "height": record.height, "width": record.width}


def draw_val_predictions(adapter, predictions, folder: Path, limit: int = 8) -> None:
    """PNGs of validation images with the predicted boxes (and masks) drawn, so a user can see them."""
    from PIL import Image, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    for record, pred in list(zip(adapter.val_records, predictions))[:limit]:
        with Image.open(adapter.dataset.abspath(record)) as im:  # upright, as the boxes are
            image = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), np.float32)
        adapter.draw_prediction(image, pred).save(folder / (Path(record.path).stem + ".png"))
