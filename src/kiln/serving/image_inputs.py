"""The inputs of a model trained on image files: one field ``image`` per record, decoded by the
decoder training used (kiln.data.images.decode_image) at the model's size, fit and channels,
into the uint8 (N, H, W, C) batch the exported graph takes.

An image arrives as base64 in a JSON record (``{"image": "<base64>"}``), as the bytes of a
multipart upload, as a path (``kiln predict``, a CSV's ``path`` column), a PIL image or an
array (``kiln.load(dir).predict([...])``). Its header is checked against the pixel limit
before a pixel is decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import numpy as np
import pandas as pd

from kiln.data.images.decode import DEFAULT_MAX_PIXELS, ImageTooLarge, decode_image
from kiln.errors import KilnError
from kiln.serving.records import InputError, check_record_fields

FIELD = "image"
PATH_COLUMN = "path"


class ImageTooLargeInput(InputError):
    """An image over the pixel limit (the server answers 413)."""


class ImageInputs:
    """``kind="image"``: records of one base64 field, files, PIL images or arrays -> uint8 NHWC."""

    kind = "image"

    def __init__(self, image: dict) -> None:
        self.image = dict(image)
        self.height, self.width = (int(v) for v in image["size"])
        self.channels = int(image["channels"])
        self.fit = str(image.get("fit", "crop"))
        self.max_pixels = int(image.get("max_pixels") or DEFAULT_MAX_PIXELS)
        shape = [self.height, self.width, self.channels]
        self.features = [{"name": FIELD, "type": "image", "shape": shape, "dtype": "uint8"}]
        self.names = [FIELD]
        self._index = {FIELD: 0}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "features": self.features, "image": self.image}

    def example(self) -> dict:
        return {FIELD: "<base64 of a PNG or JPEG file>"}

    def json_schema(self) -> dict:
        """The JSON Schema of one record, for the OpenAPI docs."""
        text = {"type": "string", "contentEncoding": "base64",
                "description": "an image file (PNG, JPEG, BMP, WebP), base64-encoded"}  # fmt: skip
        return {"type": "object", "properties": {FIELD: text}, "required": [FIELD],
                "additionalProperties": False}  # fmt: skip

    # -- one image --------------------------------------------------------------------
    def decode(self, source, name: str) -> np.ndarray:
        """uint8 (H, W, C); a bad image is an InputError naming it (ImageTooLargeInput when it
        declares more pixels than the model's limit)."""
        try:
            return decode_image(source, (self.height, self.width), self.channels, self.fit,
                                self.max_pixels, name=name)  # fmt: skip
        except ImageTooLarge as err:  # the limit is the model's (data.max_pixels at training)
            raise ImageTooLargeInput(
                f"{str(err).rsplit(';', 1)[0]}; send a smaller image."
            ) from None
        except KilnError as err:
            raise InputError(str(err)) from None

    def _batch(self, sources: list, names: list[str]):
        x = np.empty((len(sources), self.height, self.width, self.channels), dtype=np.uint8)
        for i, (src, name) in enumerate(zip(sources, names, strict=True)):
            x[i] = self.decode(src, name)
        nothing = np.zeros(1, dtype=np.int64)
        return [x], nothing, nothing

    # -- requests and files -----------------------------------------------------------
    def encode_records(self, records: list):
        """JSON records ``{"image": "<base64>"}`` -> ([uint8 NHWC], missing, unknown)."""
        n = len(records)
        blobs, names = [], []
        for i, rec in enumerate(records):
            where = check_record_fields(rec, i, n, self.names, self._index)
            value = rec[FIELD]
            if not isinstance(value, str):
                raise InputError(
                    f"{where}: field 'image' is a {type(value).__name__}; send the image file as a base64 string."
                )
            try:
                blobs.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                raise InputError(
                    f"{where}: field 'image' is not valid base64; send the file's bytes base64-encoded."
                ) from None
            names.append(f"{where} (field 'image')")
        return self._batch(blobs, names)

    def encode_uploads(self, files: list[tuple[str, bytes]]):
        """Multipart uploads (filename, bytes) -> ([uint8 NHWC], missing, unknown)."""
        return self._batch(
            [b for _, b in files], [f"upload {i} ({n})" for i, (n, _) in enumerate(files)]
        )

    def encode_sources(self, sources):
        """Paths, PIL images, arrays or bytes (``kiln.load(dir).predict([...])``): one, a list,
        or a uint8 batch (N, H, W, C)."""
        if isinstance(sources, np.ndarray) and sources.ndim == 4:
            sources = list(sources)
        elif not isinstance(sources, (list, tuple)):
            sources = [sources]
        if not sources:
            raise InputError("predict got no images; pass image paths, PIL images or arrays.")
        names = [
            f"image {s}" if isinstance(s, (str, Path)) else f"input {i}"
            for i, s in enumerate(sources)
        ]
        return self._batch(list(sources), names)

    def frame_columns(self) -> list[str]:
        return [PATH_COLUMN]

    def encode_frame(self, df: pd.DataFrame, base: Path | None = None):
        """A frame with a ``path`` column (relative paths from ``base``)."""
        if PATH_COLUMN not in df.columns:
            raise InputError(
                f"the input has no column {PATH_COLUMN!r}; this model reads image files, so list their paths in a column named path."
            )
        paths = [Path(p) if base is None or Path(p).is_absolute() else base / str(p)
                 for p in df[PATH_COLUMN]]  # fmt: skip
        return self._batch(paths, [f"image {p}" for p in paths])
