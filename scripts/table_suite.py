"""Issue 16's table suite: real public tables that ship inside installable wheels.

Nothing is downloaded at run time: each loader reads a file inside an installed package
(ISLP, plotnine, scikit-learn) or the repository's data/penguins.csv. ``prepare`` (run under
the benchmark venv, which has ISLP and plotnine) writes each table to ``<cache>/<name>.csv``
with columns that leak the target dropped, so kiln reads it as it would a user's file.

    /work/bench-venv-tables/bin/python scripts/table_suite.py /tmp/kiln-table-suite
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = "/tmp/kiln-table-suite"
ISLP = ("ISLP 0.6 (pip install ISLP)", "BSD-2-Clause")
PLOTNINE = ("plotnine 0.15 (from ggplot2)", "MIT")
SKLEARN = ("scikit-learn", "BSD-3-Clause")


@dataclass(frozen=True)
class Table:
    """One table: where it comes from, its target and task, and the columns left out."""

    name: str
    task: str  # binary | multiclass | regression
    target: str
    source: tuple[str, str]  # (package, licence)
    file: str  # ISLP/plotnine file name, or sklearn:<loader>, or repo:<path>
    drop: tuple[str, ...] = ()  # ids and columns that leak the target
    note: str = ""

    @property
    def package(self) -> str:
        return self.source[0]

    @property
    def licence(self) -> str:
        return self.source[1]


SUITE = [
    Table("auto_origin", "multiclass", "origin", ISLP, "ISLP:Auto.data", ("name",),
          "'?' horsepower = missing; the car's name would give its maker's origin away"),
    Table("bikeshare", "regression", "bikers", ISLP, "ISLP:Bikeshare.csv", ("casual", "registered"),
          "casual + registered = bikers"),
    Table("boston", "regression", "medv", ISLP, "ISLP:Boston.csv"),
    Table("caravan", "binary", "Purchase", ISLP, "ISLP:Caravan.csv", (), "6% positive"),
    Table("carseats", "regression", "Sales", ISLP, "ISLP:Carseats.csv"),
    Table("college", "binary", "Private", ISLP, "ISLP:College.csv"),
    Table("credit", "regression", "Balance", ISLP, "ISLP:Credit.csv", ("ID",)),
    Table("default", "binary", "default", ISLP, "ISLP:Default.csv", (), "3% positive"),
    Table("hitters", "regression", "Salary", ISLP, "ISLP:Hitters.csv", (),
          "rows without a salary dropped (322 -> 263)"),
    Table("oj", "binary", "Purchase", ISLP, "ISLP:OJ.csv"),
    Table("wage", "regression", "wage", ISLP, "ISLP:Wage.csv", ("logwage",), "logwage = log(wage)"),
    Table("weekly", "binary", "Direction", ISLP, "ISLP:Weekly.csv", ("Today",),
          "Today's sign is the Direction; close to a coin toss without it"),
    Table("diamonds", "regression", "price", PLOTNINE, "plotnine:diamonds.csv"),
    Table("breast_cancer", "binary", "target", SKLEARN, "sklearn:load_breast_cancer"),
    Table("digits", "multiclass", "target", SKLEARN, "sklearn:load_digits"),
    Table("diabetes", "regression", "target", SKLEARN, "sklearn:load_diabetes", (),
          "scaled=False: the raw values"),
    Table("penguins", "multiclass", "species", ("palmerpenguins (CC0), data/penguins.csv", "CC0-1.0"),
          "repo:data/penguins.csv", (), "missing measurements and sex"),
]  # fmt: skip
BY_NAME = {t.name: t for t in SUITE}


def _package_file(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            f"{package} is not installed here; run this under the benchmark venv (see the docstring)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / name


def load(table: Table) -> pd.DataFrame:
    """The table as a DataFrame with its target column and without the dropped columns."""
    kind, _, name = table.file.partition(":")
    if kind == "sklearn":
        import sklearn.datasets

        loader = getattr(sklearn.datasets, name)
        kwargs = {"scaled": False} if name == "load_diabetes" else {}
        df = loader(as_frame=True, **kwargs).frame
    elif kind == "repo":
        df = pd.read_csv(REPO / name)
    elif name.endswith(".data"):  # ISLP's Auto.data: whitespace-separated, '?' for missing
        df = pd.read_csv(_package_file(kind, name), sep=r"\s+", na_values="?")
    else:
        df = pd.read_csv(_package_file(kind, name))
    df = df.drop(columns=list(table.drop))
    df = df[df[table.target].notna()].reset_index(drop=True)
    if table.task != "regression":
        df[table.target] = df[table.target].astype(str)  # class labels, never numbers to regress
    return df


def prepare(cache: str | Path = DEFAULT_CACHE, names: list[str] | None = None) -> list[Path]:
    """Write each table to ``<cache>/<name>.csv`` (temporary name, then renamed)."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    written = []
    for table in SUITE if not names else [BY_NAME[n] for n in names]:
        df = load(table)
        path = cache / f"{table.name}.csv"
        tmp = path.with_suffix(".csv.tmp")
        df.to_csv(tmp, index=False)
        tmp.replace(path)
        missing = int(df.isna().any(axis=1).sum())
        cats = sum(
            not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns if c != table.target
        )
        print(f"{table.name:14s} {len(df):6d} rows {df.shape[1] - 1:3d} features "
              f"{cats:2d} categorical {missing:5d} rows with missing -> {path}")  # fmt: skip
        written.append(path)
    return written


if __name__ == "__main__":
    prepare(
        sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CACHE,
        sys.argv[2].split(",") if len(sys.argv) > 2 else None,
    )
