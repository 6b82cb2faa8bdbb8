"""Using a trained model: predict on images (`Predictor`), the same code for `zazu predict` and `zazu serve`."""

from zazu.inference.predictor import InvalidImage, Predictor, check_image_bytes, image_files

__all__ = ["InvalidImage", "Predictor", "check_image_bytes", "image_files"]
