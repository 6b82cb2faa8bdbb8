"""Base adapter for object detection: a zoo model writes `make_coder()` and `build()`.

The coder (e.g. `zazu.nn.centernet.CenterNetCoder`, `zazu.nn.retinanet.RetinaNetCoder`)
owns what differs between detector families: the heads, the training targets,
the losses and the decoding. This class does the rest: letterboxed data with
box-aware augmentation, training with a keep-best checkpoint, COCO mAP in
original image coordinates, and int8 export (network only: decoding and NMS run
outside it) scored the same way.

Hyperparameters read from `self.hp` (all optional): input_size (96), batch_size (16),
learning_rate (1e-3), augment (true), patience (8), max_instances (50),
score_threshold (0.05), nms_iou (0.5), max_detections (100).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zazu.adapters.base import BaseAdapter
from zazu.runs import atomic_write_json


class DetectionAdapter(BaseAdapter):
    task = "detection"
    objective = "val_mAP"
    iou_type = "bbox"
    uses_masks = False
    reload_compiled = False  # the coders' losses are closures

    # -- what a zoo model writes ------------------------------------------------------
    def make_coder(self):
        """Return the coder of this detector family, built from `self.input_size`,
        `self.num_classes` and `self.hp`."""
        raise NotImplementedError(f"{type(self).__name__}.make_coder() must return a detection coder.")

    def build(self):
        """Return an uncompiled `keras.Model` from `self.image_input()` to `self.coder.outputs(features)`."""
        raise NotImplementedError(f"{type(self).__name__}.build() must return a keras.Model.")

    # -- lifecycle ----------------------------------------------------------------------------
    def data_loader(self) -> None:
        dataset, sides = self.load_split()
        self.dataset = dataset
        self.classes = dataset.classes
        self.train_records = sides["train"]
        self.val_records = sides["val"]
        self.coder = self.make_coder()

    def _pipeline(self, records, training: bool, augment: dict | None):
        from zazu.data.pipeline import instance_dataset, instance_targets

        targets = instance_targets(records, self.input_size, int(self.hp.get("max_instances", 50)),
                                   with_masks=self.uses_masks)
        paths = [self.dataset.abspath(r) for r in records]
        return instance_dataset(paths, targets, self.input_size, int(self.hp.get("batch_size", 16)),
                                training=training, augment_settings=augment, seed=self.seed), targets

    def preprocess(self) -> None:
        import tensorflow as tf

        def to_xy(batch):
            y = self.coder.encode(batch["bounding_boxes"]["boxes"], batch["bounding_boxes"]["labels"],
                                  *([batch["segmentation_masks"]] if self.uses_masks else []))
            return batch["images"], tuple(y)

        train, _ = self._pipeline(self.train_records, True, self.augmentation())
        val, self.val_targets = self._pipeline(self.val_records, False, None)
        self.train_ds = train.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE)
        self.val_ds = val.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE)
        self.val_images = val.map(lambda b: b["images"])

    def train(self) -> None:
        import keras

        self.model.compile(optimizer=keras.optimizers.Adam(float(self.hp.get("learning_rate", 1e-3)), clipnorm=10.0),
                           loss=self.coder.losses())
        self.fit_keeping_best("val_loss", "min", default_patience=8)

    # -- prediction and metrics -------------------------------------------------------------
    def postprocess(self, outputs, record, scale: float):
        """One image's network outputs -> Prediction in the original image's pixels."""
        from zazu.metrics.coco import Prediction
        from zazu.nn.boxes import batched_nms

        decoded = self.coder.decode(outputs, float(self.hp.get("score_threshold", 0.05)),
                                    int(self.hp.get("max_detections", 100)))
        boxes, scores, labels = decoded[:3]
        keep = batched_nms(boxes, scores, labels, float(self.hp.get("nms_iou", 0.5)),
                           int(self.hp.get("max_detections", 100)))
        return Prediction(boxes[keep] / scale, scores[keep], labels[keep])

    def predict_keras(self) -> list:
        predictions = []
        for images in self.val_images:
            outputs = [np.asarray(o) for o in self.model(images, training=False)]
            for i in range(outputs[0].shape[0]):
                k = len(predictions)
                predictions.append(self.postprocess([o[i] for o in outputs], self.val_records[k],
                                                    self.val_targets.scales[k]))
        return predictions

    def predict_tflite(self, path: Path) -> list:
        from zazu.data.pipeline import load_letterboxed
        from zazu.export.litert import TFLiteRunner

        runner = TFLiteRunner(path)
        predictions = []
        for i, record in enumerate(self.val_records):
            image = load_letterboxed(self.dataset.abspath(record), self.input_size)[0].numpy()[None]
            outputs = runner(image)
            predictions.append(self.postprocess([o[0] for o in outputs], record, self.val_targets.scales[i]))
        return predictions

    def score(self, predictions) -> dict[str, float]:
        from zazu.metrics.coco import coco_metrics

        metrics, per_class = coco_metrics(self.val_records, predictions, self.classes, self.iou_type)
        self.per_class_ap = per_class
        return metrics

    def get_metrics(self) -> dict[str, float]:
        metrics = self.score(self.predict_keras())
        if self.trial_dir is not None:
            atomic_write_json(self.trial_dir / "per_class_ap.json", self.per_class_ap)
        return {**metrics, "val_loss": float(min(self.history.get("val_loss", [float("nan")]))),
                "epochs_trained": float(len(self.history.get("loss", [])))}

    def draw_predictions(self, predictions, folder: Path, limit: int = 8, min_score: float = 0.3) -> None:
        """PNGs of validation images with the predicted boxes (and masks) drawn, so a user can see them."""
        from PIL import Image

        from zazu.data.masks import rle_to_mask
        from zazu.data.preview import draw_sample

        folder.mkdir(parents=True, exist_ok=True)
        for record, pred in list(zip(self.val_records, predictions))[:limit]:
            with Image.open(self.dataset.abspath(record)) as im:
                image = np.asarray(im.convert("RGB"), np.float32)
            keep = pred.scores >= min_score
            masks = None
            if pred.masks:
                masks = np.stack([rle_to_mask(m) for m, k in zip(pred.masks, keep) if k], -1) if keep.any() else None
            draw_sample(image, self.classes, pred.boxes[keep], pred.labels[keep], masks).save(
                folder / (Path(record.path).stem + ".png"))

    # -- export -------------------------------------------------------------------------------
    def representative_images(self, limit: int = 100):
        from zazu.data.pipeline import representative_images

        return representative_images([self.dataset.abspath(r) for r in self.train_records], self.input_size,
                                     limit, letterbox=True)

    def score_exports(self, tflite_path: Path, out_dir: Path) -> dict[str, dict[str, float]]:
        """Float and int8 scored with the same decoding (which runs outside the network);
        the int8 predictions are drawn into out_dir/predictions."""
        float_metrics = self.score(self.predict_keras())
        int8_predictions = self.predict_tflite(tflite_path)
        int8_metrics = self.score(int8_predictions)
        self.draw_predictions(int8_predictions, Path(out_dir) / "predictions")
        return {"float": float_metrics, "int8": int8_metrics}
