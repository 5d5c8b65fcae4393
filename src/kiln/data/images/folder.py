"""``data=images data.path=<folder or CSV>``: image files decoded once into a uint8 cache, split
with a seed, normalization fitted on the training split and kept in the model (ImageInput), and
batches served by indexing the cache (no per-sample ``__getitem__``, no decoding after setup)."""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from kiln.data.base import InMemoryDataModule, infer_task
from kiln.data.images import cache as cache_mod
from kiln.data.images.decode import DEFAULT_MAX_PIXELS, FITS
from kiln.data.images.sources import list_images
from kiln.data.images.splits import assign_splits
from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.preprocessing.images import ImageInput

log = logging.getLogger("kiln")
BAD_IMAGE = ("fail", "skip")


class ImageFolderDataModule(InMemoryDataModule):
    """Images from a folder of class folders (optionally under train/ val/ test/) or a
    CSV/Parquet of ``path,label`` (paths relative to the file; numeric labels may be regression
    targets). Each image becomes uint8 (H, W, C) at ``size`` = [height, width] (``fit``: crop,
    pad or stretch), ``channels`` 1, 3 or auto (1 when every image is grey). Batches are
    (uint8 (N, H, W, C), target); the model's ImageInput turns them into normalized floats.
    """

    def __init__(self, path=None, size=(64, 64), channels: int | str = "auto", fit: str = "crop",
                 max_pixels: int = DEFAULT_MAX_PIXELS, on_bad_image: str = "fail",
                 cache: str = "auto", cache_limit_bytes: int = cache_mod.DEFAULT_CACHE_LIMIT,
                 cache_dir: str | None = None, decode_workers: int | str = "auto",
                 path_column: str = "path", label_column: str = "label",
                 name: str | None = None, **kwargs) -> None:  # fmt: skip
        kwargs.setdefault("batch_size", 64)
        super().__init__(**kwargs)
        self.size = _size(size)
        if channels not in (1, 3, "auto"):
            raise KilnError(f"data.channels={channels!r} must be 1 (grey), 3 (RGB) or auto.")
        if fit not in FITS:
            raise KilnError(f"data.fit={fit!r} is not one of {', '.join(FITS)}; use data.fit=crop.")
        if on_bad_image not in BAD_IMAGE:
            raise KilnError(f"data.on_bad_image={on_bad_image!r} must be fail or skip.")
        for key, value in (("max_pixels", max_pixels), ("cache_limit_bytes", cache_limit_bytes)):
            if not isinstance(value, int) or value < 1:
                raise KilnError(f"data.{key}={value!r} must be a positive whole number.")
        if cache not in cache_mod.CACHES:
            raise KilnError(f"data.cache={cache!r} is not one of auto, memory, disk; use auto.")
        self.path, self.channels, self.fit = path, channels, fit
        self.max_pixels, self.on_bad_image = max_pixels, on_bad_image
        self.cache, self.cache_limit_bytes, self.cache_dir = cache, cache_limit_bytes, cache_dir
        self.workers = cache_mod.workers_for(decode_workers)
        self.path_column, self.label_column, self.name = path_column, label_column, name
        self._report: dict = {}
        self.split_files: dict[str, list[str]] = {}  # the file of each row of each split

    def _prepare(self) -> None:
        if self.fold is not None:
            raise KilnError(
                "data=images does not take test folds (data.test_folds); use a hold-out split or a test/ folder."
            )
        listing = list_images(self.path, self.path_column, self.label_column)
        task, y, class_names = self._targets(listing)
        order, bounds = assign_splits(listing.splits, y, task != "regression", self.val_fraction,
                                      self.test_fraction, self.split_seed, class_names)  # fmt: skip
        paths = [listing.paths[i] for i in order]
        x, keep = self._decode(paths)
        yt = torch.as_tensor(
            y[order][keep], dtype=torch.float32 if task == "regression" else torch.long
        )
        pixels = torch.from_numpy(x)
        self.splits, self.split_files = {}, {}
        start = 0
        for split, (a, b) in bounds.items():
            n = int(keep[a:b].sum())
            if n == 0:
                raise KilnError(
                    f"the {split} split of data.path={self.path} has no image left after skipping bad files; add images."
                )
            self.splits[split] = (pixels[start : start + n], yt[start : start + n])
            self.split_files[split] = [
                str(p) for p, k in zip(paths[a:b], keep[a:b], strict=True) if k
            ]
            start += n
        channels, (h, w) = x.shape[-1], self.size
        self.preprocessor = ImageInput(channels).fit(self.splits["train"][0])
        if task == "regression":
            ytr = self.splits["train"][1].double()
            self.target_stats = (float(ytr.mean()), float(ytr.std(unbiased=False)))
        image = {"layout": "NHWC", "dtype": "uint8", "size": [h, w], "channels": channels,
                 "fit": self.fit, "max_pixels": self.max_pixels}  # fmt: skip
        self.spec = InputSpec(kind="image", shape=(channels, h, w), task=task,
                              num_outputs=len(class_names) if task == "multiclass" else 1,
                              dataset=self.name or listing.name, class_names=class_names,
                              extra={"image": image})  # fmt: skip

    def _decode(self, paths: list) -> tuple[np.ndarray, np.ndarray]:
        """(the cache of the decoded images, in ``paths`` order less the skipped ones; which
        of ``paths`` it holds). Fills the ``images`` part of the data report."""
        started = time.perf_counter()
        channels = self.channels
        if channels == "auto":
            channels = cache_mod.auto_channels(paths, self.workers)
        h, w = self.size
        x, where = cache_mod.allocate((len(paths), h, w, channels), self.cache,
                                      self.cache_limit_bytes, self.cache_dir)  # fmt: skip
        if where != "memory" and self.pin_to_device == "auto":
            self.pin_to_device = False  # a cache too large for memory is too large for a GPU
        names = [f"image {p}" for p in paths]
        bad = cache_mod.decode_into(x, paths, names, self.size, channels, self.fit,
                                    self.max_pixels, self.workers, self.on_bad_image)  # fmt: skip
        seconds = time.perf_counter() - started
        failed = {b["path"] for b in bad}
        keep = np.array([str(p) not in failed for p in paths], dtype=bool)
        if bad:
            log.warning("data: %d image(s) could not be decoded and were skipped (listed in "
                        "data_report.json): %s", len(bad), ", ".join(sorted(failed)[:5]))  # fmt: skip
        kept = cache_mod.compact(x, keep)
        self._report = {"images": {"files": len(paths), "decoded": kept, "skipped": bad,
                                   "size": [h, w], "channels": channels, "fit": self.fit,
                                   "cache": where, "cache_bytes": int(kept * h * w * channels),
                                   "decode_seconds": round(seconds, 3),
                                   "decode_workers": self.workers}}  # fmt: skip
        log.info("data: %d images decoded in %.1f s into a %s cache of %.1f MB", kept, seconds,
                 where, kept * h * w * channels / 1e6)  # fmt: skip
        return (x[:kept] if kept < len(x) else x), keep

    def _targets(self, listing) -> tuple[str, np.ndarray, list[str] | None]:
        """(task, y as class indices or values, class names) from the listing's labels."""
        labels = listing.labels
        if self.task != "auto":
            task = self.task
        elif listing.numeric:
            task = infer_task(labels)
        else:
            task = "binary" if len(np.unique(labels)) == 2 else "multiclass"
        if task == "regression":
            if not listing.numeric:
                raise KilnError(
                    f"data.task=regression needs numeric labels, and data.path={self.path} has class names; use data.task=auto."
                )
            return task, labels.astype(np.float64), None
        if task not in ("binary", "multiclass"):
            raise KilnError(
                f"data.task={task} does not fit images; use auto, binary, multiclass or regression."
            )
        classes, y = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise KilnError(
                f"the labels of data.path={self.path} hold one class ({classes[0]}); a classifier needs at least two."
            )
        if task == "binary" and len(classes) != 2:
            raise KilnError(
                f"data.task=binary but data.path={self.path} has {len(classes)} classes; use data.task=multiclass."
            )
        names = [
            str(int(c)) if listing.numeric and float(c).is_integer() else str(c) for c in classes
        ]
        return task, y, names

    def report(self) -> dict:
        return {**super().report(), **self._report}


def _size(size) -> tuple[int, int]:
    """``data.size``: one side (a square) or [height, width], each 1..8192."""
    sides = (
        [size] if isinstance(size, int) else list(size) if isinstance(size, (list, tuple)) else None
    )
    if (
        sides is None
        or len(sides) not in (1, 2)
        or not all(isinstance(s, int) and 0 < s <= 8192 for s in sides)
    ):
        raise KilnError(
            f"data.size={size!r} must be a side or [height, width] in pixels, e.g. [64, 64]."
        )
    return (sides[0], sides[-1])
