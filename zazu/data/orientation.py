"""EXIF orientation: phone photos are stored sideways with a tag saying how to turn them.

Annotation tools draw boxes and masks on the upright image, so Zazu decodes every
image upright (`decode_encoded` applies `orient`) and reports upright sizes
(`upright_size`). The eight tag values follow the EXIF 2.3 specification; each is
undone by the transpose that PIL's `ImageOps.exif_transpose` uses for it.
"""

from __future__ import annotations

import io

ORIENTATION_TAG = 0x0112
SWAPS_AXES = frozenset({5, 6, 7, 8})  # stored width is the upright height


def image_orientation(image) -> int:
    """The EXIF orientation (1-8) of an open PIL image; 1 when absent or not a valid value."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # a corrupt EXIF block must not make the image unreadable: treat it as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def bytes_orientation(data: bytes) -> int:
    """The EXIF orientation of encoded image bytes (header read only); 1 when there is none."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image_orientation(image)
    except Exception:  # not an image PIL knows: the decoder reports that in its own words
        return 1


def upright_size(image) -> tuple[int, int]:
    """(width, height) of an open PIL image as it is displayed, after its EXIF orientation."""
    width, height = image.size
    return (height, width) if image_orientation(image) in SWAPS_AXES else (width, height)


def orient(image, orientation):
    """A decoded [H, W, C] image tensor turned upright for its EXIF `orientation` (int or scalar tensor)."""
    import tensorflow as tf

    def transpose(x):
        return tf.transpose(x, [1, 0, 2])

    branches = [
        lambda: image,  # 1: upright
        lambda: tf.reverse(image, [1]),  # 2: mirrored left-right
        lambda: tf.image.rot90(image, 2),  # 3: upside down
        lambda: tf.reverse(image, [0]),  # 4: mirrored top-bottom
        lambda: transpose(image),  # 5: transposed
        lambda: tf.image.rot90(image, 3),  # 6: needs 90 degrees clockwise
        lambda: tf.image.rot90(transpose(image), 2),  # 7: transversed
        lambda: tf.image.rot90(image, 1),  # 8: needs 90 degrees counter-clockwise
    ]
    index = tf.clip_by_value(tf.cast(orientation, tf.int32) - 1, 0, 7)
    return tf.switch_case(index, branches)
