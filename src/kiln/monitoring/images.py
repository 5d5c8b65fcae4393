"""A folder of image files as a batch for an image model: ``kiln drift input=some/dir``.

Each file (found in the folder and its subfolders, in name order) is converted to the model's
channels (grey or RGB), resized to its height and width, and put on the training data's
scale: an 8-bit pixel p becomes lo + p / 255 * (hi - lo), where [lo, hi] is the profile's
``pixel_range`` (digits: 0..16). So a PNG of a digit reads back as the array it came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiln.errors import KilnError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MODES = {1: "L", 3: "RGB"}  # channels -> the Pillow mode the model's images are read in
WIDE = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # Pillow modes beyond 8 bits


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def read_image_folder(folder: Path, shape: tuple[int, ...], pixel_range) -> np.ndarray:
    """(N, C, H, W) float32 on the training data's scale, from the images under ``folder``."""
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    if channels not in MODES:
        raise KilnError(
            f"input {folder} is a folder of images but the model takes {channels}-channel inputs; pass a .npy or .npz array."
        )
    if pixel_range is None:
        raise KilnError(
            "The reference profile has no pixel range (it predates image folders); pass the images as a .npy or .npz array, or train the model again."
        )
    files = image_files(folder)
    if not files:
        raise KilnError(
            f"input folder {folder} holds no images ({', '.join(SUFFIXES)}); put the batch's image files in it."
        )
    lo, hi = (float(v) for v in pixel_range)
    out = np.empty((len(files), channels, height, width), dtype=np.float32)
    for i, path in enumerate(files):
        try:
            with Image.open(path) as img:
                if img.mode in WIDE:
                    raise KilnError(
                        f"image {path} has {img.mode} pixels; save the batch as 8-bit PNG or JPEG images."
                    )
                img = img.convert(MODES[channels])
                if img.size != (width, height):
                    img = img.resize((width, height), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, dtype=np.float32)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise KilnError(
                f"image {path} could not be read ({type(err).__name__}); replace or remove it."
            ) from None
        out[i] = pixels.reshape(height, width, channels).transpose(2, 0, 1)
    return lo + out / 255.0 * (hi - lo)
