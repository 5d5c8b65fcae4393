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


def read_table(source, key: str = "data.path") -> pd.DataFrame:
    """A DataFrame from a path (.csv, .tsv, .parquet), ``sklearn:<name>`` or a DataFrame."""
    if isinstance(source, pd.DataFrame):
        df = source
    elif source is None or str(source) in ("", "???"):
        raise KilnError(f"{key} is not set; pass {key}=path/to/table.csv (or .parquet).")
    elif str(source).startswith("sklearn:"):
        df = _sklearn(str(source).split(":", 1)[1], key)
    else:
        df = _read_file(Path(str(source)).expanduser(), key)
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise KilnError(f"{key}={source} holds no rows; pass a table with a header and data rows.")
    df.columns = [str(c) for c in df.columns]
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise KilnError(
            f"{key}={source} has repeated column names ({', '.join(dup)}); rename them."
        )
    return df


def _read_file(path: Path, key: str) -> pd.DataFrame:
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
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", low_memory=False)
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


def _sklearn(name: str, key: str) -> pd.DataFrame:
    from sklearn import datasets

    if name not in SKLEARN_TABLES:
        raise KilnError(
            f"{key}=sklearn:{name} is not a bundled table; use one of {', '.join(SKLEARN_TABLES)}."
        )
    return getattr(datasets, f"load_{name}")(as_frame=True).frame
