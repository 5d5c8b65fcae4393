"""Tables from CSV, Parquet, scikit-learn or a DataFrame: schema, splits, fitted preprocessing.

Batches are (x_num float32 [N, F] with NaN, x_cat int64 [N, C], y); the preprocessor
(kiln.preprocessing.tabular) turns the first two into the network's input of width
``spec.shape[0]``. The schema rides in ``spec.extra["schema"]`` and so in every checkpoint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from kiln.data.base import InMemoryDataModule
from kiln.data.class_weights import class_weights, decision_threshold
from kiln.data.folds import fold_report
from kiln.data.quality import check_finite
from kiln.data.schema import Schema
from kiln.data.spec import InputSpec
from kiln.data.table_io import check_separator, read_table
from kiln.data.table_report import add_report_to_tensorboard, log_report, table_report
from kiln.data.table_split import split_table, task_and_classes
from kiln.errors import KilnError
from kiln.preprocessing.tabular import fit_tabular, resolve

FRAMES: dict[str, pd.DataFrame] = {}  # data.path=frame:<name> after register_dataframe


def register_dataframe(name: str, df: pd.DataFrame) -> str:
    """Make a DataFrame reachable from config (``data.path=frame:<name>``) for kiln.api.run."""
    FRAMES[name] = df
    return f"frame:{name}"


class TableDataModule(InMemoryDataModule):
    """A table with a target column. Column types are inferred (``columns`` overrides them,
    ``drop`` removes columns); ``preprocess`` holds the per-type and per-column settings;
    ``val_path`` / ``test_path`` replace the random splits; ``cv_folds`` > 1 with
    ``cv_fold`` = k makes fold k of the non-test rows the validation split (``kiln train
    cv.folds``); ``test_folds`` / ``test_fold`` make the test split one fold of all rows
    (``kiln compare cv.test_folds``, kiln.data.folds)."""

    def __init__(self, path=None, target: str | None = None, val_path: str | None = None,
                 test_path: str | None = None, columns: dict | None = None, drop: list | None = None,
                 preprocess: dict | None = None, stratify: bool = True, cv_folds: int = 0,
                 cv_fold: int | None = None, schema: dict | None = None, name: str | None = None,
                 sep: str | None = None, class_weight=None, threshold=None, label_separator: str = "|",
                 **kwargs) -> None:  # fmt: skip
        super().__init__(**kwargs)
        if not target or target == "???":
            raise KilnError("data.target is not set; pass data.target=<the column to predict>.")
        if cv_folds and not (cv_folds >= 2 and cv_fold is not None and 0 <= cv_fold < cv_folds):
            raise KilnError(
                f"data.cv_fold={cv_fold} must lie in 0..{cv_folds - 1} when data.cv_folds={cv_folds}."
            )
        if self.fold and test_path:
            raise KilnError(
                "data.test_path fixes the test rows and data.test_folds asks for test folds; drop one."
            )
        self.path, self.target, self.val_path, self.test_path = path, target, val_path, test_path
        self.columns, self.drop = dict(columns or {}), list(drop or [])
        self.preprocess = dict(preprocess or {})
        self.stratify, self.cv_folds, self.cv_fold = stratify, int(cv_folds or 0), cv_fold
        self.schema_dict, self.name, self.sep = schema, name, sep
        self.class_weight, self.threshold = class_weight, threshold  # kiln.data.class_weights
        self.label_separator = label_separator  # multilabel: ``a|b`` targets
        self.schema: Schema | None = None
        self.split_rows: dict[str, np.ndarray] = {}
        self._report: dict = {}
        self._tb_written = False

    # -- loading --------------------------------------------------------------------------
    def _read(self, source, key: str) -> pd.DataFrame:
        if isinstance(source, str) and source.startswith("frame:"):
            if source[6:] not in FRAMES:
                raise KilnError(
                    f"{key}={source} names no registered DataFrame; call kiln.data.table.register_dataframe first."
                )
            source = FRAMES[source[6:]]
        df = read_table(source, key, self.sep)
        check_separator(df.columns, [self.target], f"{key}={source}", "data.sep")
        if self.target not in df.columns:
            shown = ", ".join(list(df.columns)[:12])
            raise KilnError(
                f"data.target={self.target!r} is not a column of {key}; its columns are: {shown}."
            )
        return df

    # -- the pipeline -----------------------------------------------------------------------
    def _prepare(self) -> None:
        df = self._read(self.path, "data.path")
        y_all = df[self.target]
        if y_all.isna().all():
            raise KilnError(
                f"The target {self.target!r} is missing in every row; pick another data.target."
            )
        # multilabel: an empty cell is a row without labels (kiln.data.multilabel), kept
        kept = y_all.notna().to_numpy() | (self.task == "multilabel")
        dropped = {"missing_target": int((~kept).sum())}
        df = df[kept].reset_index(drop=True)
        if self.schema_dict:
            schema = Schema.from_dict(self.schema_dict)
            schema.validate(df, "data.path")
        else:
            task, classes = task_and_classes(
                df[self.target], self.task, self.target, self.label_separator
            )
            schema = Schema.infer(df, self.target, task, self.columns, self.drop)
            schema.classes = classes
            if task == "multilabel":
                schema.label_separator = self.label_separator
        y = schema.encode_target(df[self.target])
        strat = y if schema.task in ("binary", "multiclass") and self.stratify else None
        rows = split_table(
            len(df), strat, self.split_seed, self.val_fraction, self.test_fraction, self.fold,
            (self.cv_folds, self.cv_fold) if self.cv_folds else None,
            bool(self.val_path), bool(self.test_path),
        )  # fmt: skip
        # each split's rows as positions in the file (rows without a target left out)
        self.split_rows = {k: np.flatnonzero(kept)[v] for k, v in rows.items()}
        frames = {k: df.iloc[v] for k, v in rows.items()}
        for key, path in (("val", self.val_path), ("test", self.test_path)):
            if path:
                extra = self._read(path, f"data.{key}_path")
                if schema.task != "multilabel":
                    extra = extra[extra[self.target].notna()].reset_index(drop=True)
                schema.validate(extra, f"data.{key}_path")
                frames[key] = extra
        num_set = [
            resolve(self.preprocess, f, kind, src) for f, src, kind in schema.numeric_features
        ]
        cat_set = [resolve(self.preprocess, c, "categorical") for c in schema.categorical_features]
        if not self.schema_dict:
            caps = {
                c: (s.get("min_frequency", 1), s.get("max_categories"))
                for c, s in zip(schema.categorical_features, cat_set, strict=True)
            }
            schema.fit_vocab(frames["train"], caps)
        enc = {
            k: (*schema.encode(f, f"the {k} split"), schema.encode_target(f[self.target]))
            for k, f in frames.items()
        }
        check_finite(enc, [f for f, _, _ in schema.numeric_features], self.target)
        pre, keep, out_report = fit_tabular(
            enc["train"][0],
            enc["train"][1],
            num_set,
            cat_set,
            schema.cardinalities,
            self.split_seed,
        )
        dropped["drop_row_train"] = int((~keep).sum())
        raw_train = enc["train"]
        enc["train"] = tuple(a[keep] for a in enc["train"])
        self.splits = {
            k: tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in v) for k, v in enc.items()
        }
        if len(self.splits["train"][2]) == 0:
            raise KilnError(
                "No training rows are left after drop_row; use another missing-value or outlier strategy."
            )
        self.schema, self.preprocessor = schema, pre
        if schema.task == "regression":
            ytr = self.splits["train"][2].double()
            self.target_stats = (float(ytr.mean()), float(ytr.std(unbiased=False)))
        name = self.name or (
            "table"
            if not isinstance(self.path, str)
            else self.path.rsplit("/", 1)[-1].split(".")[0].split(":")[-1]
        )
        self.spec = InputSpec(
            kind="tabular", shape=(pre.out_features,), task=schema.task,
            num_outputs=len(schema.classes) if schema.task in ("multiclass", "multilabel") else 1,
            dataset=name,
            class_names=[str(c) for c in schema.classes] if schema.classes else None,
            extra={"inputs_per_batch": 2, "schema": schema.to_dict(), "layout": pre.layout(),
                   "numeric_features": pre.numeric.out_features, **self._imbalance(schema)},
        )  # fmt: skip
        report = table_report(
            schema, self.spec, df, rows, enc, raw_train, out_report, dropped, self.split_seed
        )
        if not (self.val_path or self.test_path) and self.cv_folds:
            report["cv"] = {"folds": self.cv_folds, "fold": self.cv_fold}
        report.update(fold_report(self.fold))
        self._report = report
        log_report(report)

    def _imbalance(self, schema: Schema) -> dict:
        """The class weights (on the training rows) and the decision threshold the config asks
        for, as spec entries (absent when unset)."""
        y_train = self.splits["train"][2].numpy()
        weights = class_weights(self.class_weight, schema.task, schema.classes, y_train)
        threshold = decision_threshold(self.threshold, schema.task)
        return {
            k: v
            for k, v in (("class_weights", weights), ("decision_threshold", threshold))
            if v is not None
        }

    # -- lifecycle ------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self.trainer is not None and not self._tb_written:
            add_report_to_tensorboard(self.trainer.loggers, self._report)
            self._tb_written = True

    def move_to(self, device: torch.device) -> None:
        self.splits = {k: tuple(t.to(device) for t in v) for k, v in self.splits.items()}

    def report(self) -> dict:
        return self._report
