"""Reading a table from CSV, Parquet, a DataFrame or scikit-learn, with errors a user can act on."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kiln.errors import KilnError, not_a_file


class MissingTableError(KilnError):
    """A table file that is not there: ``key`` (data.path, ...) and the ``path`` given."""

    def __init__(self, key: str, path: Path):
        super().__init__(
            f"{key}={path} {not_a_file(path)}; pass the path of a .csv or .parquet file."
        )
        self.key, self.path = key, path


SKLEARN_TABLES = ("wine", "breast_cancer", "diabetes", "iris", "digits")


SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'"}  # each as the override writes it: sep=tab


def separator(sep: str | None, path: Path) -> str:
    """The delimiter of a text table: ``sep`` when given (tab: ``tab`` or ``\\t``), else by suffix."""
    if sep in (None, "", "auto"):
        return "\t" if path.suffix.lower() == ".tsv" else ","
    return "\t" if sep in ("tab", "\\t") else str(sep)


def check_separator(columns, needed, where: str, key: str) -> None:
    """A needed column missing from a header that holds ';', tabs or '|' is a file split on the
    wrong delimiter: say so, and how to set it, rather than list one long column name."""
    missing = [n for n in needed if n not in columns]
    counts = {s: sum(str(c).count(s) for c in columns) for s in SEPARATORS}
    sep = max(counts, key=counts.get)
    if missing and counts[sep]:
        shown = ",".join(map(str, columns))[:80]
        value = SEPARATORS[sep]
        setting = f"{key}={value}" if sep == "\t" else f'"{key}={value}"'  # quoted for the shell
        raise KilnError(
            f"{where} has no column {missing[0]!r}: its header {shown!r} looks "
            f"{value}-separated; pass {setting} to read it."
        )


def read_table(source, key: str = "data.path", sep: str | None = None) -> pd.DataFrame:
    """A DataFrame from a path (.csv, .tsv, .parquet), ``sklearn:<name>`` or a DataFrame;
    ``sep``: the delimiter of a text file (default: by suffix, tab for .tsv, else comma)."""
    if isinstance(source, pd.DataFrame):
        df = source
    elif source is None or str(source) in ("", "???"):
        raise KilnError(f"{key} is not set; pass {key}=path/to/table.csv (or .parquet).")
    elif str(source).startswith("sklearn:"):
        df = _sklearn(str(source).split(":", 1)[1], key)
    else:
        df = _read_file(Path(str(source)).expanduser(), key, sep)
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise KilnError(f"{key}={source} holds no rows; pass a table with a header and data rows.")
    df.columns = [str(c) for c in df.columns]
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise KilnError(
            f"{key}={source} has repeated column names ({', '.join(dup)}); rename them."
        )
    return df


def _read_file(path: Path, key: str, sep: str | None) -> pd.DataFrame:
    shipped = Path(__file__).resolve().parents[3] / path  # data/ of a kiln checkout
    if not path.is_file() and not path.is_absolute() and shipped.is_file():
        path = shipped
    if not path.is_file():
        raise MissingTableError(key, path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt", ".gz"):
            df = pd.read_csv(path, sep=separator(sep, path), low_memory=False)
            check_repeated_names(df.columns, path, f"{key}={path}", separator(sep, path))
            return df
    except pd.errors.EmptyDataError:
        raise KilnError(
            f"{key}={path} is empty; pass a table with a header and data rows."
        ) from None
    except pd.errors.ParserError as err:
        found = re.search(r"Expected \d+ fields in line \d+, saw \d+", str(err))
        detail = found.group(0) if found else type(err).__name__
        raise KilnError(
            f"{key}={path} is not a well-formed CSV ({detail}); give every row the header's number of fields."
        ) from None
    except (UnicodeDecodeError, OSError, ValueError) as err:
        kind = "Parquet" if suffix in (".parquet", ".pq") else "CSV"
        raise KilnError(
            f"{key}={path} could not be read as {kind} ({type(err).__name__}); check that the file is a valid {kind} file."
        ) from None
    raise KilnError(
        f"{key}={path} has the suffix {suffix!r}; kiln reads .csv, .tsv and .parquet files."
    )


def check_repeated_names(columns, path: Path, where: str, sep: str) -> None:
    """pandas renames a repeated column name (x, x.1) without a word; read the header as
    written when a name looks renamed, and refuse repeats, naming them."""
    names = [str(c) for c in columns]
    if not any(re.fullmatch(r"(.+)\.\d+", n) and n.rsplit(".", 1)[0] in names for n in names):
        return
    header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str).iloc[0].tolist()
    repeated = sorted({str(n) for n in header if header.count(n) > 1})
    if repeated:
        raise KilnError(
            f"{where} repeats the column name(s) {', '.join(repeated)}; give every column its own name."
        )


def _sklearn(name: str, key: str) -> pd.DataFrame:
    from sklearn import datasets

    if name not in SKLEARN_TABLES:
        raise KilnError(
            f"{key}=sklearn:{name} is not a bundled table; use one of {', '.join(SKLEARN_TABLES)}."
        )
    return getattr(datasets, f"load_{name}")(as_frame=True).frame
