"""Whether TensorFlow's decoder, which training and inference use, reads an image as PIL does.

`data check` and `predict`/`serve` read images with PIL first (it fails on a truncated file where
TensorFlow fills in grey). For BMP and GIF the two decoders were seen to disagree: TensorFlow refuses
a 1-bit BMP that PIL opens, and decodes a GIF whose canvas differs from its frame at the frame's
size while PIL gives the canvas's, so boxes would be scaled to the wrong image. Those two formats are
decoded by TensorFlow too; PNG and JPEG are not (no disagreement found, and it would double the cost).
"""

from __future__ import annotations

CHECKED_FORMATS = ("BMP", "GIF")


def tensorflow_disagrees(data: bytes, image_format: str | None, size: tuple[int, int]) -> str | None:
    """Why TensorFlow's decoder cannot take an image PIL read as (width, height) `size`, or None."""
    if image_format not in CHECKED_FORMATS:
        return None
    import tensorflow as tf

    try:
        shape = tf.io.decode_image(data, channels=3, expand_animations=False).shape
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        detail = str(error.message if hasattr(error, "message") else error).strip().splitlines()[-1][:160]
        return f"TensorFlow's decoder cannot read this {image_format} ({detail})"
    if (shape[1], shape[0]) != tuple(size):
        return (f"TensorFlow's decoder reads this {image_format} as {shape[1]}x{shape[0]}, not {size[0]}x{size[1]} "
                "as its header says")
    return None
