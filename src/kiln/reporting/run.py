"""The report of a run, as ``kiln train`` (its test split, after testing) and ``kiln eval``
write it: the ``report`` switch, the ``eval`` settings and the run's TensorBoard writer."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from kiln.errors import KilnError
from kiln.reporting.output import write_report
from kiln.reporting.report import Settings, build_report

log = logging.getLogger("kiln")
SETTINGS = ("auto", True, False)


def wanted(setting, tested: bool) -> bool:
    """``report``: auto writes one when the run tests its model, true always, false never."""
    if setting not in SETTINGS:
        raise KilnError(f"report={setting!r} is not auto, true or false; set e.g. report=auto.")
    return setting is True or (setting == "auto" and tested)


def tensorboard_writer(loggers):
    """The SummaryWriter of the run's TensorBoard logger, if it has one."""
    for lg in loggers:
        experiment = getattr(lg, "experiment", None)
        if hasattr(experiment, "add_figure"):
            return experiment
    return None


def report_split(module, datamodule, split: str, run_dir: Path, cfg, writer=None, step: int = 0):
    """Write ``<run_dir>/report/`` for ``split`` of the data module (every row, on the
    calling rank). Returns the folder, or None where the data module holds no such split."""
    splits = getattr(datamodule, "splits", None) or {}
    if split not in splits or len(splits[split][-1]) == 0:
        log.info("no evaluation report: the data has no %s rows", split)
        return None
    *inputs, y = splits[split]
    settings = Settings.from_config(cfg.get("eval"), int(cfg.get("seed") or 0))
    started = time.perf_counter()
    title = f"{datamodule.spec.dataset}: evaluation on the {split} split"
    report = build_report(module, list(inputs), y, settings, title)
    report.evaluation["seconds"] = round(time.perf_counter() - started, 3)
    return write_report(report, run_dir, writer, step)


def write_eval_report(module, datamodule, run_dir: Path, cfg, seed: int) -> Path | None:
    """``kiln eval``'s report of the test split, its figures in ``<run_dir>/tensorboard``."""
    from omegaconf import OmegaConf
    from torch.utils.tensorboard import SummaryWriter

    node = OmegaConf.create({"eval": cfg.get("eval") or {}, "seed": seed})
    writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))
    try:
        return report_split(module, datamodule, "test", run_dir, node, writer)
    finally:
        writer.close()


def candidate_report(module, datamodule, cfg, trainer, run_dir: Path) -> dict:
    """A compared model's report (``report`` as in kiln train) and what its leaderboard row
    shows of it: ``ece`` (classification) and the ``report`` page's path."""
    from kiln.reporting import REPORT_HTML
    from kiln.reporting.output import headline

    if not wanted(cfg.get("report", "auto"), True):
        return {}
    folder = report_split(
        module, datamodule, "test", run_dir, cfg, tensorboard_writer(trainer.loggers),
        trainer.global_step,
    )  # fmt: skip
    if folder is None:
        return {}
    import json

    evaluation = json.loads((folder / "evaluation.json").read_text())
    return {"ece": headline(evaluation).get("ece"), "report": str(folder / REPORT_HTML)}


def check_settings(cfg, spec) -> None:
    """Refuse ``eval.slice_by`` columns the data lacks before any training, not after it."""
    settings = Settings.from_config(cfg.get("eval"))
    if not settings.slice_by or not wanted(cfg.get("report", "auto"), True):
        return
    schema = spec.extra.get("schema")
    if schema is None:
        names = list(spec.extra.get("feature_names") or []) if spec.kind == "tabular" else []
    else:
        names = [
            f"{c['name']}__{p}" if c["type"] == "datetime" else c["name"]
            for c in schema["columns"]
            for p in (c["parts"] if c["type"] == "datetime" else [None])
        ]
    if not names:
        raise KilnError(
            "eval.slice_by needs a table (its column names); this data has none, so drop eval.slice_by."
        )
    for col in settings.slice_by:
        if col not in names:
            raise KilnError(
                f"eval.slice_by names {col!r}, not a column of the data; use one of {', '.join(names[:20])}."
            )
