"""A folder of image files as a batch for an image model: ``kiln drift input=some/dir``.

Each file (found in the folder and its subfolders, in name order) goes through the decoder
training used (kiln.data.images.decode_image), so drift sees the pixels the model sees. A
model trained on image files (data=images) takes them as uint8 (N, H, W, C) at its size, fit
and channels; an array model (the digits) takes (N, C, H, W) floats on its training scale: an
8-bit pixel p becomes lo + p / 255 * (hi - lo), where [lo, hi] is the profile's
``pixel_range`` (digits: 0..16), so a PNG of a digit reads back as the array it came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiln.data.images.decode import DEFAULT_MAX_PIXELS, SUFFIXES, decode_image
from kiln.errors import KilnError


def image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    )


def read_image_folder(folder: Path, shape: tuple[int, ...], pixel_range, image: dict | None = None) -> np.ndarray:  # fmt: skip
    """The images under ``folder`` as the model's input: uint8 (N, H, W, C) when ``image`` (the
    spec's ``extra["image"]``) is given, else (N, C, H, W) float32 on the training scale."""
    channels, height, width = shape
    if channels not in (1, 3):
        raise KilnError(
            f"input {folder} is a folder of images but the model takes {channels}-channel inputs; pass a .npy or .npz array."
        )
    if image is None and pixel_range is None:
        raise KilnError(
            "The reference profile has no pixel range (it predates image folders); pass the images as a .npy or .npz array, or train the model again."
        )
    files = image_files(folder)
    if not files:
        raise KilnError(
            f"input folder {folder} holds no images ({', '.join(SUFFIXES)}); put the batch's image files in it."
        )
    fit = image["fit"] if image else "stretch"
    limit = int(image.get("max_pixels") or DEFAULT_MAX_PIXELS) if image else DEFAULT_MAX_PIXELS
    out = np.empty((len(files), height, width, channels), dtype=np.uint8)
    for i, path in enumerate(files):
        out[i] = decode_image(path, (height, width), channels, fit, limit, name=f"image {path}")
    if image is not None:
        return out
    lo, hi = (float(v) for v in pixel_range)
    return lo + out.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 * (hi - lo)
