"""Predict a CSV or Parquet file (or, for an image model, a folder of images) with an exported
artifact: the same rows out, plus predictions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from omegaconf import DictConfig

from kiln.config.trust import trust_from
from kiln.data.table_io import check_separator
from kiln.errors import KilnError
from kiln.files.leftovers import clean_partials
from kiln.serving.batch_files import ChunkWriter, read_chunks
from kiln.serving.predictor import Predictor

log = logging.getLogger("kiln")


def run(cfg: DictConfig) -> dict:
    """Stream ``input`` in chunks of ``chunk_rows`` through the artifact into ``output``."""
    if int(cfg.chunk_rows) < 1:
        raise KilnError(f"chunk_rows={cfg.chunk_rows} must be at least 1; use e.g. 65536.")
    src, dst = Path(cfg.input), Path(cfg.output)
    if src.resolve() == dst.resolve():
        raise KilnError(f"output={dst} is the input file; write the predictions to a new path.")
    for line in clean_partials(dst.parent):  # what a killed kiln predict left beside its output
        print(f"kiln predict: {line}", file=sys.stderr)
    predictor = Predictor(cfg.artifact, threads=int(cfg.threads), trust_targets=trust_from(cfg))
    writer = ChunkWriter(dst, overwrite=bool(cfg.overwrite))
    try:
        images = predictor.schema.kind == "image"  # a folder of images, or a CSV of paths
        if images:
            from kiln.serving.image_batch import predict_images

            predict_images(predictor, src, writer, int(cfg.chunk_rows), cfg.get("sep"))
        for i, chunk in enumerate(
            () if images else read_chunks(src, int(cfg.chunk_rows), cfg.get("sep"))
        ):
            if i == 0:
                needed = predictor.schema.frame_columns()
                check_separator(chunk.columns, needed, f"input={src}", "sep")
            taken = [c for c in predictor.output_columns if c in chunk.columns]
            if taken:
                raise KilnError(
                    f"input column {taken[0]!r} clashes with a prediction column; rename or drop it."
                )
            inputs, _, _ = predictor.encode(chunk)
            preds = predictor.to_frame(predictor.run(inputs), chunk.index)
            writer.write(chunk.join(preds))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    print(f"kiln predict: {writer.rows} rows -> {dst}")
    return {"rows": writer.rows, "output": str(dst)}
