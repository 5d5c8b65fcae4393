"""Reading labelled texts (CSV/TSV, Parquet, or a folder of .txt files per class) with errors
that name the row: bytes that are not UTF-8, a missing or empty text, numbers where text
should be, a missing label."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from kiln.errors import KilnError


def read_text_table(path: Path, text_column: str, target_column: str | None) -> pd.DataFrame:
    """The file as a frame, every text checked; ``target_column=None`` reads texts only."""
    if path.is_dir():
        return read_text_folder(path, text_column, target_column or "label")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        sep = "\t" if suffix == ".tsv" else ","
        frame = pd.read_csv(io.StringIO(decode_utf8(path.read_bytes(), path, sep)), sep=sep)
    needed = [text_column] + ([target_column] if target_column else [])
    for col in needed:
        if col not in frame.columns:
            raise KilnError(
                f"Column {col!r} is not in {path.name}; set data.text_column / data.target_column "
                f"to one of {', '.join(map(str, frame.columns))}."
            )
    check_texts(
        frame[text_column],
        f"{path.name}, column {text_column!r}",
        "set data.text_column to the column of text",
    )
    if target_column:
        labels = frame[target_column]
        if labels.isna().any():
            row = int(np.flatnonzero(labels.isna().to_numpy())[0])
            raise KilnError(
                f"{path.name}: row {row} has no label in column {target_column!r} "
                f"({int(labels.isna().sum())} rows lack one); fill or drop those rows."
            )
    return frame


def check_texts(texts: pd.Series, where: str, fix: str) -> None:
    """Refuse numbers, missing or empty texts and undecodable bytes, naming the first bad row."""
    if pd.api.types.is_numeric_dtype(texts) or pd.api.types.is_bool_dtype(texts):
        shown = repr(texts.dropna().tolist()[0]) if texts.notna().any() else "nothing"
        raise KilnError(f"{where} holds numbers (such as {shown}), not text; {fix}.")
    missing = texts.isna().to_numpy() | (texts.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise KilnError(
            f"{where}: row {row} has no text (empty or missing; {int(missing.sum())} such rows); "
            "fill or drop those rows."
        )


def read_text_folder(folder: Path, text_column: str, target_column: str) -> pd.DataFrame:
    """``folder/<label>/*.txt``: one text per file, the subfolder's name its label."""
    rows = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for f in sorted(sub.glob("*.txt")):
            try:
                text = f.read_bytes().decode("utf-8")
            except UnicodeDecodeError as err:
                raise KilnError(
                    f"{f} holds bytes that are not UTF-8 (0x{f.read_bytes()[err.start]:02x} at "
                    f"byte {err.start}); save the file as UTF-8."
                ) from None
            rows.append({text_column: text, target_column: sub.name})
    if not rows:
        raise KilnError(
            f"data.path={folder} holds no <label>/*.txt files; put one folder of .txt files per class there."
        )
    frame = pd.DataFrame(rows)
    check_texts(frame[text_column], str(folder), "set data.text_column to the column of text")
    return frame


def decode_utf8(raw: bytes, path: Path, sep: str) -> str:
    """The file's text; bytes that are not UTF-8 name the data row (0-based, after the header)
    and the line they sit in."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = raw[: err.start].decode("utf-8", errors="replace")
        records = sum(1 for _ in csv.reader(io.StringIO(prefix), delimiter=sep))
        row = records - 1 if prefix.endswith("\n") or not prefix else records - 2
        line = raw[: err.start].count(b"\n") + 1
        raise KilnError(
            f"{path.name}: row {max(row, 0)} (line {line}) holds "
            "bytes that are not UTF-8 "
            f"(0x{raw[err.start]:02x} at byte {err.start}); save the file as UTF-8."
        ) from None
