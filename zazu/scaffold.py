"""`zazu zoo new NAME --task T`: a working adapter skeleton and its models.json entry.

The adapter subclasses the task's base class, so it is `build()` (and, for
detectors, `make_coder()`); the entry has a small search space and edge-sized
training configs, so the new model trains as written and can be changed step
by step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zazu.atomic_io import atomic_write_text
from zazu.errors import ConfigError
from zazu.registry import NAME_PATTERN, read_entries
from zazu.tasks import CLASSIFICATION, DETECTION, INSTANCE_SEGMENTATION, get_task


_CLASSIFICATION = '''"""{name}: an image classifier for Zazu's zoo. Written by `zazu zoo new`; make build() your own.

The base class reads the data, trains with early stopping, a cosine learning-rate decay
and a keep-best checkpoint, reports val_accuracy and exports int8 TFLite.
`self.hp` holds the models.json entry's training_configs updated with the values
the search sampled from its hp_search_space.
"""

from zazu.adapters import ClassificationAdapter
from zazu.nn.layers import normalize_pixels


class AdaptModel(ClassificationAdapter):
    def build(self):
        import keras  # inside the method, so `zazu zoo list` does not load TensorFlow
        from keras import layers

        inputs = self.image_input()  # float pixels in [0, 255] at the input_size hyperparameter
        x = normalize_pixels(inputs)
        filters = int(self.hp["filters"])
        for block in range(int(self.hp["blocks"])):
            x = layers.Conv2D(filters * 2**block, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)  # few steps per epoch: let its statistics settle
            x = layers.ReLU()(x)
            x = layers.MaxPooling2D()(x)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, self.classifier_head(x), name="{name}")
'''

_DETECTION = '''"""{name}: an object detector for Zazu's zoo. Written by `zazu zoo new`; make it your own.

The base class reads COCO / VOC / YOLO data, letterboxes and augments it, trains
with a keep-best checkpoint, scores COCO val_mAP and exports int8 TFLite. What
differs between detector families (heads, training targets, losses, decoding)
is the coder from make_coder(); this skeleton uses Zazu's anchor-free CenterNet
coder. The network is the base class's build(): the `backbone` hyperparameter (a name from
zazu.nn.backbones: simple, efficientnet_lite0..2, mobilenet_v2), a feature pyramid over the
coder's strides and the coder's heads. Override build() only for another shape of network.
"""

from zazu.adapters import DetectionAdapter
from zazu.nn.centernet import CenterNetCoder


class AdaptModel(DetectionAdapter):
    def make_coder(self):
        return CenterNetCoder(self.input_size, self.num_classes, int(self.hp["head_channels"]))
'''

_SEGMENTATION = '''"""{name}: an instance segmentation model for Zazu's zoo. Written by `zazu zoo new`; make it your own.

The base class reads COCO / YOLO polygons or RLE, trains with a keep-best
checkpoint, scores val_mask_mAP and exports int8 TFLite. The coder from
make_coder() owns heads, targets, losses and mask assembly; this skeleton uses
Zazu's prototype-mask coder on the CenterNet detector. The network is the base class's
build(): the `backbone` hyperparameter, a feature pyramid and the coder's heads.
"""

from zazu.adapters import SegmentationAdapter
from zazu.nn.protomask import ProtoMaskCoder


class AdaptModel(SegmentationAdapter):
    def make_coder(self):
        return ProtoMaskCoder(self.input_size, self.num_classes, int(self.hp["head_channels"]),
                              int(self.hp["prototypes"]))
'''

_LEARNING_RATE = {"name": "learning_rate", "values": [0.002, 0.001], "sampling": "log"}
_DETECTOR_CONFIGS = {"input_size": 96, "batch_size": 16, "augment": True, "backbone": "simple", "fpn_channels": 32,
                     "head_channels": 32, "patience": 8}

TEMPLATES: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]] = {
    # task: (adapter source, hp_search_space, training_configs)
    CLASSIFICATION: (_CLASSIFICATION,
                       [_LEARNING_RATE, {"name": "filters", "values": [16, 32], "sampling": None}],
                       {"input_size": 32, "batch_size": 16, "augment": False, "blocks": 3, "patience": 5}),
    DETECTION: (_DETECTION,
                  [_LEARNING_RATE, {"name": "backbone_width", "values": [16, 24], "sampling": None}],
                  _DETECTOR_CONFIGS),
    INSTANCE_SEGMENTATION: (_SEGMENTATION,
                              [_LEARNING_RATE, {"name": "prototypes", "values": [8, 16], "sampling": None}],
                              {**_DETECTOR_CONFIGS, "backbone_width": 16, "max_instances": 20}),
}


@dataclass(frozen=True)
class NewModel:
    name: str
    adapter_path: Path
    models_json: Path
    entry: dict[str, Any]


def new_model(root: str | Path, name: str, task: str) -> NewModel:
    """Write <root>/zoo/<name>/adapter.py and add <name> to <root>/models.json (an empty folder starts
    a new zoo)."""
    get_task(task)
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"Invalid model name. Expected letters, digits and _ (it names a folder and a "
                          f"models.json key), not starting with a digit, at most 100 characters. "
                          f"Received: name={name[:120]!r}{'...' if len(name) > 120 else ''}")
    root = Path(root)
    models_json = root / "models.json"
    starts_zoo = root.is_dir() and not any(root.iterdir())
    entries = {} if starts_zoo else read_entries(root, hint=" (an empty folder starts a new zoo)")
    if name in entries:
        raise ConfigError(f"{models_json}: a model named `{name}` is already registered. Received: name={name!r}")
    folder = root / "zoo" / name
    if folder.exists():
        raise ConfigError(f"{folder} already exists. Expected a new model name. Received: name={name!r}")

    source, hp_search_space, training_configs = TEMPLATES[task]
    entry = {
        "task": task,
        "description": "TODO: one line on what this model is for; then set model_space to its real ratings.",
        "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
        "hp_search_space": [dict(hp) for hp in hp_search_space],
        "training_configs": dict(training_configs),
    }
    folder.mkdir(parents=True)
    adapter_path = folder / "adapter.py"
    atomic_write_text(adapter_path, source.replace("{name}", name))
    atomic_write_text(models_json, json.dumps({**entries, name: entry}, indent=2, ensure_ascii=False) + "\n")
    return NewModel(name, adapter_path, models_json, entry)
