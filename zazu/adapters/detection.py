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

from zazu.adapters.base import BaseAdapter
from zazu.adapters.hyperparameters import Hyperparameter, declare
from zazu.adapters.transfer import TRANSFER_HYPERPARAMETERS
from zazu.atomic_io import atomic_write_json

HEADS_LAYER = "heads"  # pyramid + heads as one nested model, when the backbone is pretrained


class DetectionAdapter(BaseAdapter):
    task = "detection"
    objective = "val_mAP"
    iou_type = "bbox"
    uses_masks = False
    reload_compiled = False  # the coders' losses are closures
    hyperparameters = declare(
        BaseAdapter.hyperparameters,
        Hyperparameter("batch_size", 16, "images per training batch"),
        Hyperparameter("patience", 8, "epochs without a lower val_loss before early stopping"),
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
        if self.pretrained_backbone_named():
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

    def instance_cap(self, name: str) -> int:
        """`max_instances` (training targets kept an image) or `max_detections`, the entry's or the default."""
        return int(self.hp[name])

    def pretrained_backbone_named(self) -> bool:
        from zazu.nn.backbones import get_backbone

        entry = get_backbone(str(self.hp["backbone"]))
        return entry.set_trainable_top_blocks is not None and self.hp["weights"] not in (None, "", False)

    # -- lifecycle ----------------------------------------------------------------------------
    def data_loader(self) -> None:
        dataset, sides = self.load_split()
        self.dataset = dataset
        self.classes = dataset.classes
        self.train_records = sides["train"]
        self.val_records = sides["val"]
        self.coder = self.make_coder()

    def _pipeline(self, records, training: bool, augment: dict | None, mosaic_schedule=None):
        from zazu.data.pipeline import instance_dataset, instance_targets

        targets = instance_targets(records, self.input_size, self.instance_cap("max_instances"),
                                   with_masks=self.uses_masks)
        paths = [self.dataset.abspath(r) for r in records]
        return instance_dataset(paths, targets, self.input_size, int(self.hp["batch_size"]),
                                training=training, augment_settings=augment, seed=self.seed,
                                mosaic_schedule=mosaic_schedule), targets

    def preprocess(self) -> None:
        import tensorflow as tf

        from zazu.data.pipeline import feed

        def to_xy(batch):
            boxes = batch["bounding_boxes"]
            masks = [batch["segmentation_masks"]] if self.uses_masks else []
            return batch["images"], self.encoded_targets(boxes["boxes"], boxes["labels"], *masks)

        from zazu.data.augment import mosaic_schedule

        augment = self.augmentation()
        self.mosaic_schedule = mosaic_schedule(augment, self.hp["epochs"])
        train, _ = self._pipeline(self.train_records, True, augment, self.mosaic_schedule)
        val, self.val_targets = self._pipeline(self.val_records, False, None)
        self.train_ds = feed(train.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE))
        self.val_ds = feed(val.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE))
        self.val_images = val.map(lambda b: b["images"])

    def before_fit(self, initial_epoch: int) -> None:
        if getattr(self, "mosaic_schedule", None) is not None:
            self.mosaic_schedule.start_at(initial_epoch)  # the epochs from here on count from this one

    def compile_for(self, learning_rate: float) -> None:
        import keras

        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=10.0), loss=self.coder.losses())

    def train(self) -> None:
        nested_heads = HEADS_LAYER in {layer.name for layer in self.model.layers}
        self.fit_in_phases("val_loss", "min", self.fit_heads_on_cached_features if nested_heads else None)

    def fit_heads_on_cached_features(self, phase) -> tuple[int, float, dict]:
        """The frozen phase on backbone features computed once per trial (`cached_feature_datasets`).
        Leaves the whole model, best epoch, in the trial's checkpoint. Returns (epochs done, best
        val_loss, history)."""
        import keras

        from zazu.adapters.base import CHECKPOINT
        from zazu.interrupts import interrupt_callback

        folder = self.require_trial_dir()
        heads = self.model.get_layer(HEADS_LAYER)
        (train, steps), val = self.cached_feature_datasets()
        trainer = keras.Model(heads.inputs, heads.outputs)  # compiled instead of `heads`, which is saved inside the model
        trainer.compile(optimizer=keras.optimizers.Adam(phase.learning_rate, clipnorm=10.0), loss=self.coder.losses())
        patience = int(self.hp["patience"])
        fitted = trainer.fit(train, steps_per_epoch=steps, validation_data=val, epochs=phase.end_epoch, verbose=0,
                             shuffle=False,  # tf.data shuffles
                             callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=patience,
                                                                      restore_best_weights=True),
                                        keras.callbacks.CSVLogger(str(folder / "history.csv")),
                                        *self.progress_callbacks, *self.deadline_callbacks(),
                                        interrupt_callback()])
        best = float(min(fitted.history["val_loss"]))
        self.compile_for(phase.learning_rate)
        self.model.save(folder / CHECKPOINT)
        return phase.end_epoch, best, {k: [float(v) for v in values] for k, values in fitted.history.items()}

    def cached_feature_datasets(self):
        """((train batches repeated, steps a pass), val batches) of backbone features and encoded
        targets, for the heads to learn from: the features of every training image or, drawn at random
        each epoch when the run's augmentation flips, of its mirror image (the flip, exactly), boxes and
        masks mirrored to match."""
        import tensorflow as tf

        from zazu.data.pipeline import endless, feed

        batch = int(self.hp["batch_size"])
        flip = bool((self.augmentation() or {}).get("horizontal_flip"))
        width = float(self.input_size[1])
        train_features, train_targets = self.backbone_features(self.train_records, mirrored=False)
        mirror_features = [self.backbone_features(self.train_records, mirrored=True)[0]] if flip else []
        masks = [train_targets.masks] if self.uses_masks else []
        val_features, val_targets = self.backbone_features(self.val_records, mirrored=False)

        def either(features, mirrored, boxes, labels, *masks):
            # one sample per image and epoch, mirrored or not, as the flip augmentation draws it
            coin = tf.random.uniform(()) < 0.5
            boxes = tf.where(coin, tf.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], -1),
                             boxes)
            masks = [tf.where(coin, tf.reverse(m, axis=[1]), m) for m in masks]
            return tuple(tf.where(coin, b, a) for a, b in zip(features, mirrored)), boxes, labels, *masks

        def to_xy(features, boxes, labels, *masks):
            return tuple(tf.cast(f, tf.float32) for f in features), self.encoded_targets(boxes, labels, *masks)

        def batches(ds):
            return feed(ds.batch(batch).map(to_xy, num_parallel_calls=tf.data.AUTOTUNE))

        train = tf.data.Dataset.from_tensor_slices((tuple(train_features), *map(tuple, mirror_features),
                                                    train_targets.boxes, train_targets.labels, *masks))
        train = train.shuffle(len(self.train_records), seed=self.seed, reshuffle_each_iteration=True)
        if flip:
            train = train.map(either, num_parallel_calls=tf.data.AUTOTUNE)
        val = tf.data.Dataset.from_tensor_slices((tuple(val_features), val_targets.boxes, val_targets.labels,
                                                  *([val_targets.masks] if self.uses_masks else [])))
        return endless(batches(train)), batches(val)

    def encoded_targets(self, boxes, labels, *masks) -> tuple:
        """A batch's training targets from the coder, its padding slots cut first (`used_slots`), masks
        as float (the cached-feature phase holds them as uint8)."""
        import tensorflow as tf

        from zazu.nn.boxes import used_slots

        boxes, labels, *masks = used_slots(boxes, labels, *masks)
        return tuple(self.coder.encode(boxes, labels, *[tf.cast(m, tf.float32) for m in masks]))

    def backbone_features(self, records, mirrored: bool):
        """(the frozen backbone's features of `records` at the levels the heads read, one array a
        level, their targets); of the mirrored images when `mirrored`. float16: half the memory, and
        the heads read them as float32."""
        import tensorflow as tf

        from zazu.nn.backbones import BACKBONE_LAYER, FEATURE_STRIDES

        backbone = self.model.get_layer(BACKBONE_LAYER)
        levels = [FEATURE_STRIDES.index(s) for s in self.head_strides]
        images, targets = self._pipeline(records, False, None)
        parts = [[] for _ in levels]
        for b in images:
            outputs = backbone(tf.reverse(b["images"], axis=[2]) if mirrored else b["images"], training=False)
            for k, level in enumerate(levels):
                parts[k].append(np.asarray(outputs[level], np.float16))
        return [np.concatenate(p) for p in parts], targets

    # -- prediction and metrics -------------------------------------------------------------
    resize = "letterbox"

    def prepare_inference(self, classes) -> None:
        super().prepare_inference(classes)
        self.coder = self.make_coder()

    def postprocess(self, outputs, context: dict):
        """One image's network outputs -> Prediction in the original image's pixels.
        `context`: {"scale": original -> input pixels, "height", "width"} of the original image."""
        from zazu.metrics.coco import Prediction
        from zazu.nn.boxes import batched_nms

        decoded = self.coder.decode(outputs, float(self.hp["score_threshold"]),
                                    self.instance_cap("max_detections"))
        boxes, scores, labels = decoded[:3]
        keep = batched_nms(boxes, scores, labels, float(self.hp["nms_iou"]),
                           self.instance_cap("max_detections"))
        return Prediction(boxes[keep] / context["scale"], scores[keep], labels[keep])

    def decode_outputs(self, outputs, context):
        return self.postprocess([o[0] for o in outputs], context)

    def _val_context(self, k: int) -> dict:
        record = self.val_records[k]
        return {"scale": float(self.val_targets.scales[k]), "height": record.height, "width": record.width}

    def predict_keras(self) -> list:
        """The float model on the val split, batched through the val pipeline (fast, for trials)."""
        predictions = []
        for images in self.val_images:
            outputs = [np.asarray(o) for o in self.model.predict_on_batch(images)]
            for i in range(outputs[0].shape[0]):
                predictions.append(self.postprocess([o[i] for o in outputs], self._val_context(len(predictions))))
        return predictions

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
        metrics, details = self.score_records(self.predict_keras(), self.val_records)
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

    def draw_predictions(self, predictions, folder: Path, limit: int = 8) -> None:
        """PNGs of validation images with the predicted boxes (and masks) drawn, so a user can see them."""
        from PIL import Image, ImageOps

        folder.mkdir(parents=True, exist_ok=True)
        for record, pred in list(zip(self.val_records, predictions))[:limit]:
            with Image.open(self.dataset.abspath(record)) as im:  # upright, as the boxes are
                image = np.asarray(ImageOps.exif_transpose(im).convert("RGB"), np.float32)
            self.draw_prediction(image, pred).save(folder / (Path(record.path).stem + ".png"))

    # -- export -------------------------------------------------------------------------------
    def representative_images(self, limit: int = 100):
        from zazu.data.pipeline import representative_images

        return representative_images([self.dataset.abspath(r) for r in self.train_records], self.input_size,
                                     limit, letterbox=True)

    def write_export_extras(self, out_dir: Path, predictions: dict[str, list]) -> None:
        """The most quantized variant's predictions drawn on val images, into out_dir/predictions."""
        for variant in ("int8", "dynamic", "float16", "float32", "keras"):
            if variant in predictions:
                self.draw_predictions(predictions[variant], Path(out_dir) / "predictions")
                return
