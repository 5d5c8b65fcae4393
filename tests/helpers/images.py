"""Tiny real image files for the image tests: every mode and format kiln reads, written by
Pillow, and folders of two visibly different classes (bright and dark, red and blue)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112


def pattern(h: int = 12, w: int = 16, seed: int = 0) -> np.ndarray:
    """A seeded uint8 RGB image with structure (a gradient plus noise)."""
    rng = np.random.default_rng(seed)
    grad = np.linspace(0, 200, w)[None, :, None] + np.linspace(0, 50, h)[:, None, None]
    return np.clip(grad + rng.integers(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)


def write_modes(folder: Path, seed: int = 0) -> dict[str, Path]:
    """One file per mode and format: grey, RGB, RGBA, palette, 16-bit, EXIF-rotated JPEG, WebP,
    BMP (sizes differ on purpose). Returns {mode name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = pattern(12, 16, seed)
    out = {}

    def save(name: str, img: Image.Image, **kw) -> None:
        out[name.split(".")[0]] = folder / name
        img.save(folder / name, **kw)

    save("grey.png", Image.fromarray(rgb[..., 0]))
    save("rgb.png", Image.fromarray(rgb))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    save("rgba.png", Image.fromarray(rgba, "RGBA"))
    save("palette.png", Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE))
    wide = rgb[..., 1].astype(np.uint16) * 257  # 16-bit grey, full range
    save("wide.png", Image.fromarray(wide))
    save("photo.jpg", Image.fromarray(rgb), quality=95)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # stored turned: a viewer rotates it 90 degrees clockwise
    save(
        "rotated.jpg",
        Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 0, 2)[::-1])),
        quality=95,
        exif=exif,
    )
    save("lossless.webp", Image.fromarray(rgb[:10, :14]), lossless=True)
    save("bitmap.bmp", Image.fromarray(rgb[:8]))
    return out


def two_classes(root: Path, per_class: int = 12, size: tuple[int, int] = (12, 16), grey: bool = False,
                seed: int = 0) -> Path:  # fmt: skip
    """root/<dark|bright>/<i>.png: classes a model separates in a step or two."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(("dark", "bright")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            level = 60 + 120 * k
            a = np.clip(level + rng.normal(0, 25, (*size, 3)), 0, 255).astype(np.uint8)
            a[..., 2 - 2 * k] //= 2  # dark is less blue, bright less red: colour matters too
            img = Image.fromarray(a[..., 0] if grey else a)
            img.save(root / name / f"{i:03d}.png")
    return root


def png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(side: int = 9000) -> bytes:
    """A PNG of a few bytes whose header declares side x side pixels: a 1x1 image with its
    IHDR width and height rewritten (and the chunk's CRC recomputed)."""
    data = bytearray(png_bytes(np.zeros((1, 1), np.uint8)))
    data[16:24] = struct.pack(">II", side, side)  # after the signature, length and b"IHDR"
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def train_image_model(root: Path, per_class: int = 16, *overrides: str) -> dict:
    """A CNN trained for 2 epochs on two_classes(root / "data") at 8x8, exported to ONNX;
    returns {"data", "ckpt", "artifact", "runs"}."""
    import kiln.api
    from tests.helpers import train

    data = two_classes(root / "data", per_class=per_class)
    runs = root / "runs"
    result = train(runs, "data=images", f"data.path={data}", "data.size=[8,8]",
                   "trainer.max_epochs=2", "logger=none", "~callbacks.confusion_matrix",
                   *overrides)  # fmt: skip
    artifact = root / "artifact"
    kiln.api.run("export", [f"ckpt_path={result['best_checkpoint']}", f"out={artifact}",
                            f"paths.root={runs}"])  # fmt: skip
    return {"data": data, "ckpt": result["best_checkpoint"], "artifact": artifact, "runs": runs}
