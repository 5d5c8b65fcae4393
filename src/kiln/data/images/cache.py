"""Decode a list of image files once into one uint8 array (N, H, W, C): in memory, or in a
memory-mapped file on disk when it is larger than ``cache_limit_bytes`` (``cache=auto``).

Files are decoded by a thread pool (Pillow releases the GIL while it decodes and resizes), each
straight into its row of the cache. A file that cannot be decoded is either the run's error
(``on_bad_image=fail``, naming the first such file) or skipped and listed (``skip``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kiln.data.images.decode import decode_image
from kiln.errors import KilnError

log = logging.getLogger("kiln")

CACHES = ("auto", "memory", "disk")
DEFAULT_CACHE_LIMIT = 4 * 1024**3  # 4 GiB in memory; a larger cache=auto set is memory-mapped
GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def workers_for(workers: int | str | None) -> int:
    """``data.decode_workers``: a count, or auto (the CPUs this process may use, at most 8)."""
    if workers in (None, "auto"):
        return max(
            1,
            min(
                8,
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else os.cpu_count() or 1,
            ),
        )
    if not isinstance(workers, int) or workers < 1:
        raise KilnError(f"data.decode_workers={workers!r} must be a count of threads or auto.")
    return workers


def is_grey(path: Path) -> bool | None:
    """Whether the file's header says grey (a grey palette counts); None: unreadable (the
    decode pass names it)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                if img.mode == "P":
                    pal = np.asarray(img.getpalette() or [], dtype=np.int64).reshape(-1, 3)
                    return bool((pal == pal[:, :1]).all())
                return img.mode in GREY_MODES
    except Exception:  # noqa: BLE001 - any unreadable file is reported by the decode pass
        return None


def auto_channels(paths: list[Path], workers: int) -> int:
    """1 when every readable image is grey, else 3 (headers only, no pixels decoded)."""
    with ThreadPoolExecutor(workers) as pool:
        return 1 if all(g is not False for g in pool.map(is_grey, paths)) else 3


def allocate(shape: tuple[int, ...], cache: str, limit: int, cache_dir: str | None):
    """(array, where): a zeroed uint8 array in memory, or memory-mapped in ``cache_dir`` (the
    system's temp folder by default; the file is unlinked at once, so nothing is left behind)."""
    if cache not in CACHES:
        raise KilnError(
            f"data.cache={cache!r} is not one of {', '.join(CACHES)}; use data.cache=auto."
        )
    size = int(np.prod(shape))
    if cache == "memory" or (cache == "auto" and size <= limit):
        return np.zeros(shape, dtype=np.uint8), "memory"
    folder = Path(cache_dir or tempfile.gettempdir()).expanduser()
    file = folder / f".kiln-images-{os.getpid()}-{uuid.uuid4().hex[:8]}.u8"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        array = np.memmap(file, dtype=np.uint8, mode="w+", shape=shape)
    except OSError as err:
        raise KilnError(
            f"the image cache ({size:,} bytes) cannot be written to {folder} ({err.strerror}); set data.cache_dir to a folder with room."
        ) from None
    finally:
        file.unlink(missing_ok=True)  # the mapping lives on; the space goes when it is closed
    return array, f"disk ({folder})"


def decode_into(out: np.ndarray, paths: list[Path], labels: list[str], size: tuple[int, int],
                channels: int, fit: str, max_pixels: int, workers: int,
                on_bad_image: str) -> list[dict]:  # fmt: skip
    """Decode ``paths[i]`` into ``out[i]``; returns the files that failed ({path, reason}).
    With ``on_bad_image=fail`` the first failure (in path order) is raised instead."""

    def one(i: int) -> str | None:
        try:
            out[i] = decode_image(paths[i], size, channels, fit, max_pixels, name=labels[i])
        except KilnError as err:
            return str(err)
        return None

    with ThreadPoolExecutor(workers) as pool:
        reasons = list(pool.map(one, range(len(paths))))
    bad = sorted(
        ({"path": str(p), "reason": r} for p, r in zip(paths, reasons, strict=True) if r),
        key=lambda b: b["path"],
    )
    if bad and on_bad_image == "fail":
        more = f" ({len(bad) - 1} other file(s) failed too)" if len(bad) > 1 else ""
        raise KilnError(
            f"{bad[0]['reason'].rstrip('.')}{more}, or pass data.on_bad_image=skip to leave bad files out."
        )
    return bad


def compact(array: np.ndarray, keep: np.ndarray, chunk: int = 1024) -> int:
    """Move the rows where ``keep`` is true to the front of ``array`` in place; their count."""
    rows = np.flatnonzero(keep)
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if part[0] != start or part[-1] != start + len(part) - 1:
            array[start : start + len(part)] = array[part]  # reads before it writes
    return len(rows)
