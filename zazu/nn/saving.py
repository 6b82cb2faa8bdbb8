"""Loading a saved `.keras` model with Zazu's own layers, safely.

Below the adapters and the export (both load trained models), so neither imports the other for it.
"""

from __future__ import annotations

from pathlib import Path


def load_keras_model(path: str | Path, compile: bool = True):
    """A `.keras` file as a Keras model, Zazu's own layers included. Its zip members are size-checked before
    anything is inflated, and Keras's safe_mode stays on: a Lambda layer's code is refused, never run."""
    import keras

    from zazu.errors import ZazuError
    from zazu.keras_archive import check_keras_archive
    from zazu.nn.layers import custom_objects

    check_keras_archive(path)
    try:
        return keras.saving.load_model(path, compile=compile, custom_objects=custom_objects(), safe_mode=True)
    except ValueError as error:
        first = (str(error).strip().splitlines() or [""])[0]
        raise ZazuError(f"{path}: Keras refused to load it: {first}") from None
