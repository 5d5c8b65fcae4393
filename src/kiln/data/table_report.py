"""The data report of a table, put together after the preprocessor is fitted, and where it goes.

kiln.data.quality holds the measures (leakage, target balance, missing shares); this module
assembles them for TableDataModule and writes the summary to the console and TensorBoard.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from kiln.data import quality
from kiln.data.schema import Schema
from kiln.data.spec import InputSpec

log = logging.getLogger("kiln")


def table_report(
    schema: Schema,
    spec: InputSpec,
    df: pd.DataFrame,
    rows: dict[str, np.ndarray],
    enc: dict[str, tuple],
    raw_train: tuple,
    out_report: dict,
    dropped: dict,
    seed: int,
) -> dict:
    """The report of ``df`` split into ``rows``: ``enc`` holds each split's encoded arrays
    (x_num, x_cat, y), ``raw_train`` the training split's before drop_row."""
    split_of_row = np.empty(len(df), dtype=object)
    for k, v in rows.items():
        split_of_row[v] = k
    names = [f for f, _, _ in schema.numeric_features] + schema.categorical_features
    xs = {
        k: np.concatenate([e[0], e[1].astype(np.float32)], 1)
        for k, e in (("train", raw_train), ("val", enc["val"]))
    }
    return {
        "dataset": spec.dataset, "task": schema.task,
        "rows": {k: len(v[2]) for k, v in enc.items()}, "rows_dropped": dropped,
        "features": {"numeric": len(schema.numeric_features), "categorical": len(schema.categorical_features), "network_inputs": spec.shape[0]},
        "dropped_columns": schema.dropped,
        "outliers": {schema.numeric_features[j][0]: r["outliers"] for j, r in out_report.items()},
        "target": {k: quality.target_balance(v[2], schema.task, schema.classes) for k, v in enc.items() if len(v[2])},
        "class_gaps": None if schema.task == "regression" else quality.class_gaps({k: v[2] for k, v in enc.items()}, schema.classes),
        "leakage": quality.leakage(names, xs["train"], raw_train[2], xs["val"], enc["val"][2], schema.task, seed),
        **quality.table_facts(df, [c.name for c in schema.columns], split_of_row),
    }  # fmt: skip


def log_report(report: dict) -> None:
    """The report's summary on the console (the ``kiln`` logger)."""
    for line in quality.summary_lines(report):
        log.info("data: %s", line)


def add_report_to_tensorboard(loggers, report: dict) -> None:
    """The report's summary as the text ``data/report`` of every TensorBoard logger."""
    from lightning.pytorch.loggers import TensorBoardLogger

    text = "\n".join(f"    {line}" for line in quality.summary_lines(report))
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_text("data/report", text)
