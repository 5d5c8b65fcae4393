"""``kiln predict`` for a model of image files: a folder of images (searched recursively, in
name order) or a CSV/Parquet with a ``path`` column (paths relative to the file), streamed in
chunks through the artifact into ``path, prediction, proba_<label>...`` rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from kiln.errors import KilnError
from kiln.serving.batch_files import ChunkWriter, read_chunks
from kiln.serving.image_inputs import PATH_COLUMN

IMAGE_CHUNK = 256  # images decoded and predicted at a time (256 x 224 x 224 x 3 = 38 MB)


def image_chunks(src: Path, rows: int, sep: str | None) -> Iterator[tuple[pd.DataFrame, Path]]:
    """(chunk with a ``path`` column, the folder its relative paths start from)."""
    if src.is_dir():
        from kiln.monitoring.images import image_files

        files = image_files(src)
        if not files:
            raise KilnError(
                f"input={src} holds no image files; pass a folder of images or a CSV of their paths."
            )
        for i in range(0, len(files), rows):
            yield pd.DataFrame({PATH_COLUMN: [str(p) for p in files[i : i + rows]]}), Path(".")
        return
    for i, chunk in enumerate(read_chunks(src, rows, sep)):
        if i == 0 and PATH_COLUMN not in chunk.columns:
            raise KilnError(
                f"input={src} has no column {PATH_COLUMN!r}; list the image files in a column named path (relative to the file)."
            )
        yield chunk, src.parent


def predict_images(predictor, src: Path, writer: ChunkWriter, chunk_rows: int, sep=None) -> None:
    """Every image of ``src`` through ``predictor`` into ``writer`` (committed by the caller)."""
    rows = max(1, min(int(chunk_rows), IMAGE_CHUNK))
    for chunk, base in image_chunks(src, rows, sep):
        taken = [c for c in predictor.output_columns if c in chunk.columns]
        if taken:
            raise KilnError(
                f"input column {taken[0]!r} clashes with a prediction column; rename or drop it."
            )
        inputs, _, _ = predictor.schema.encode_frame(chunk, base)
        preds = predictor.to_frame(predictor.run(inputs), chunk.index)
        writer.write(chunk.join(preds))
