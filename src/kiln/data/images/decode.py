"""One image (a path, encoded bytes, a PIL image or an array) -> uint8 (H, W, C) at the model's
size: EXIF orientation applied, any Pillow mode brought to the model's channels, 16-bit and
float pixels scaled to 8 bits, and the size checked before the pixels are decoded (a
decompression bomb is refused from its header)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from kiln.errors import KilnError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels: a 7,000 x 5,700 photo; larger is refused
FITS = ("crop", "pad", "stretch")
MODES = {1: "L", 3: "RGB"}


class ImageTooLarge(KilnError):
    """An image whose header declares more pixels than the limit (the server answers 413)."""


def decode_image(source, size: tuple[int, int], channels: int = 3, fit: str = "crop",
                 max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None) -> np.ndarray:  # fmt: skip
    """uint8 (H, W, C) at ``size`` = (height, width), ``channels`` 1 (grey) or 3 (RGB).

    fit: "crop" keeps the aspect and cuts the centre, "pad" keeps the aspect and pads with black,
    "stretch" resizes to the size whatever the aspect. ``name`` names the image in errors (e.g. "image a/b.png", "upload 3").
    """
    if channels not in MODES:
        raise KilnError(
            f"images have 1 (grey) or 3 (RGB) channels, not {channels}; set data.channels to 1 or 3."
        )
    if fit not in FITS:
        raise KilnError(f"data.fit={fit!r} is not one of {', '.join(FITS)}; use data.fit=crop.")
    label = name or (f"image {source}" if isinstance(source, (str, Path)) else "the image")
    img = _open(source, label, max_pixels)
    try:
        img = _to_mode(img, MODES[channels])
        img = _fit(img, size, fit)
        pixels = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as err:
        raise KilnError(
            f"{label} could not be decoded ({type(err).__name__}: {err}); replace or remove it."
        ) from None
    return pixels.reshape(size[0], size[1], channels)


def _open(source, label: str, max_pixels: int):
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, Image.Image):
        img = source
    elif isinstance(source, np.ndarray):
        img = _from_array(source, label)
    else:
        data = source if isinstance(source, (bytes, bytearray)) else None
        try:
            img = Image.open(io.BytesIO(data) if data is not None else Path(source))
        except FileNotFoundError:
            raise KilnError(f"{label} does not exist; check the path.") from None
        except Image.DecompressionBombError:
            raise ImageTooLarge(
                f"{label} declares more pixels than Pillow will decode (a decompression bomb?); shrink it."
            ) from None
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise KilnError(
                f"{label} is not an image Pillow can read ({type(err).__name__}); replace or remove it."
            ) from None
    width, height = img.size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"{label} is {width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,}; shrink it or raise data.max_pixels."
        )
    try:
        img.load()
        return ImageOps.exif_transpose(img)
    except (OSError, ValueError, SyntaxError) as err:
        raise KilnError(
            f"{label} is corrupt or truncated ({type(err).__name__}); replace or remove it."
        ) from None


def _from_array(a: np.ndarray, label: str):
    from PIL import Image

    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise KilnError(
            f"{label} is an array of shape {a.shape}; pass (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."
        )
    if a.dtype != np.uint8:
        a = _to_uint8(a.astype(np.float64), label)
    return Image.fromarray(a)


def _to_uint8(a: np.ndarray, label: str) -> np.ndarray:
    """Floats in [0, 1] scale by 255; wider integers (16-bit) by their maximum."""
    if not np.isfinite(a).all():
        raise KilnError(f"{label} holds NaN or infinite pixels; pass finite values.")
    top = 1.0 if a.max(initial=0.0) <= 1.0 else (255.0 if a.max() <= 255 else 65535.0)
    return np.clip(np.rint(a / top * 255.0), 0, 255).astype(np.uint8)


def _to_mode(img, mode: str):
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        img = Image.fromarray(_to_uint8(np.asarray(img, dtype=np.float64), "the image"))
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):  # transparency over white, as a viewer shows it
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return img.convert(mode)


def _fit(img, size: tuple[int, int], fit: str):
    from PIL import Image, ImageOps

    height, width = size
    if img.size == (width, height):
        return img
    resample = Image.Resampling.BILINEAR
    if fit == "stretch":
        return img.resize((width, height), resample)
    if fit == "crop":
        return ImageOps.fit(img, (width, height), resample)
    return ImageOps.pad(img, (width, height), resample, color=0)
