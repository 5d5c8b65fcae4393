"""Chunked reading and writing of CSV and Parquet files, so `kiln predict` runs in flat memory.

Output goes to a hidden temporary file beside the target and is renamed into place at the end:
a failed run leaves nothing half-written, and an existing file is replaced only when asked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kiln.data.table_io import check_repeated_names, separator
from kiln.errors import KilnError, not_a_file, why_not_writable
from kiln.files.atomic import commit, disk_errors, partial_name

FIX = "run kiln predict again"

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path: Path, what: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise KilnError(f"{what}={path} has an unknown extension; use a .csv or .parquet file.")
    return fmt


def read_chunks(path: Path, rows: int, sep: str | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of ``rows`` rows; ``sep``: the delimiter of a CSV (default ,; tab: ``tab``).
    A repeated column name is refused rather than renamed by pandas (x, x.1)."""
    if not path.is_file():
        raise KilnError(f"input={path} {not_a_file(path)}; pass the path of a CSV or Parquet file.")
    try:
        if file_format(path, "input") == "csv":
            for i, chunk in enumerate(pd.read_csv(path, chunksize=rows, sep=separator(sep, path))):
                if i == 0:
                    check_repeated_names(chunk.columns, path, f"input={path}", separator(sep, path))
                yield chunk
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
                yield batch.to_pandas()
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        pa.ArrowInvalid,
        UnicodeDecodeError,
    ) as err:
        if isinstance(err, UnicodeDecodeError):  # name the row that holds the bytes
            from kiln.data.text_files import decode_utf8

            decode_utf8(path.read_bytes(), path, separator(sep, path))
        raise KilnError(
            f"input={path} could not be read ({str(err).splitlines()[0]}); check that it is a valid file."
        ) from None


class ChunkWriter:
    """Appends DataFrame chunks to a CSV or Parquet file, moved into place on ``commit``."""

    def __init__(self, path: Path, overwrite: bool = False) -> None:
        self.format = file_format(path, "output")
        if path.exists() and not overwrite:
            raise KilnError(
                f"output={path} already exists; pass a new path or overwrite=true to replace it."
            )
        if path.exists() and path.is_dir():
            raise KilnError(f"output={path} is a directory; pass a file path.")
        self.path = path
        self.overwrite = overwrite
        self.tmp = partial_name(path)
        try:  # fail before any prediction runs when the folder cannot take the file
            path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp.touch(exist_ok=False)
        except OSError as err:
            raise KilnError(
                f"output={path} cannot be written ({why_not_writable(err, path)}); pass a path in a folder you can write to."
            ) from None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        with disk_errors(self.path, FIX):
            self._write(df)

    def _write(self, df: pd.DataFrame) -> None:
        if self.format == "csv":
            df.to_csv(self.tmp, mode="a", header=self.rows == 0, index=False)
        else:
            table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table)
        self.rows += len(df)

    def commit(self) -> None:
        """fsync, then rename over ``path`` (overwrite) or hard-link to it (fails if someone
        created the file meanwhile)."""
        with disk_errors(self.path, FIX):
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
            if self.rows == 0 and not self.tmp.exists():
                self.tmp.touch()
            with open(self.tmp, "rb") as f:
                os.fsync(f.fileno())
            try:
                commit(self.tmp, self.path, exclusive=not self.overwrite)
            finally:
                self.tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        if self._parquet is not None:
            with contextlib.suppress(OSError):  # a full disk again: the file goes anyway
                self._parquet.close()
        self.tmp.unlink(missing_ok=True)
