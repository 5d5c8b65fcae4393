"""Write a real image folder from data that ships with scikit-learn: its handwritten digits
(1,797 8x8 grey images, 10 classes), upscaled to 32x32 PNG files, one sub-folder per digit.

    python scripts/make_image_folder.py data/digits_folder
    kiln train experiment=digits_folder_cnn            # trains on data/digits_folder

The folder is written beside its destination under a temporary name and renamed into place,
and an existing destination is never replaced.

Licence: the images are scikit-learn's copy of the UCI "Optical Recognition of Handwritten
Digits" test set (E. Alpaydin and C. Kaynak, 1998; https://doi.org/10.24432/C50P49), which
the UCI Machine Learning Repository distributes under CC BY 4.0; scikit-learn itself is
BSD-3-Clause. Credit the authors when you share images made from them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def write_folder(dest: Path, side: int = 32, limit: int | None = None) -> int:
    """``dest/<digit>/<index>.png`` for each digit (the first ``limit`` images); the count."""
    if dest.exists():
        raise SystemExit(f"{dest} already exists; pass a new folder (nothing was written).")
    digits = load_digits()
    images = digits.images if limit is None else digits.images[:limit]
    tmp = dest.with_name(f".{dest.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        for i, (pixels, label) in enumerate(zip(images, digits.target, strict=False)):
            grey = np.rint(pixels / 16.0 * 255.0).astype(np.uint8)  # 0..16 counts -> 0..255
            img = Image.fromarray(grey).resize((side, side), Image.Resampling.BICUBIC)
            folder = tmp / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            img.save(folder / f"{i:04d}.png")
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="the folder to create, e.g. data/digits_folder")
    parser.add_argument("--side", type=int, default=32, help="width and height in pixels")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    args = parser.parse_args(argv)
    n = write_folder(args.dest, args.side, args.limit)
    print(f"{n} images of {args.side}x{args.side} pixels -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
