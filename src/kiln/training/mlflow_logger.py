"""``logger=mlflow``: Lightning's MLFlowLogger on kiln's store (``kiln.training.mlflow_store``).

Lightning logs the metrics of every step; kiln adds the run's config as params when fitting
starts (``LogConfig``), and when the run ends its final figures and files as artifacts (the
best checkpoint, config.yaml, metrics.json, the data report, the plots, the evaluation report
folder): ``finish_runs``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.utilities import rank_zero_only

from kiln.config import flatten
from kiln.training.mlflow_store import artifact_location as default_artifacts
from kiln.training.mlflow_store import (
    client,
    experiment_id,
    import_mlflow,
    resolve_uri,
    shown,
    sweep_run,
    unreachable,
)

log = logging.getLogger("kiln")
KEY = "logger.mlflow.tracking_uri"
EXPERIMENT = "kiln"  # the experiment of a run that names none
FILES = ("config.yaml", "metrics.json", "data_report.json")  # besides the run folder's *.png
FOLDERS = ("report",)  # the evaluation report (report.html, evaluation.json, plots)
NOT_PARAMS = ("paths", "callbacks", "logger", "hydra")


class KilnMLflowLogger(MLFlowLogger):
    """MLFlowLogger with kiln's defaults: SQLite at ``<runs_root>/mlflow.db`` unless
    ``tracking_uri`` (or $MLFLOW_TRACKING_URI) names another store, experiment ``kiln``, the run
    named after its run folder. The store is opened when the logger is built, so a bad URI or
    a server that does not answer stops the run before training, in one sentence.

    ``sweep``: the trial of that sweep, nested under the sweep's parent run, with
    ``trial_params`` (the sampled values) as params of their own.
    """

    def __init__(
        self,
        experiment_name: str | None = None,
        run_name: str | None = None,
        tracking_uri: str | None = None,
        tags: dict | None = None,
        runs_root: str = "runs",
        run_dir: str | None = None,
        artifact_location: str | None = None,
        log_checkpoint: bool = True,
        sweep: str | None = None,
        trial_params: dict | None = None,
    ) -> None:
        uri = resolve_uri(tracking_uri, runs_root)
        import_mlflow("logger=mlflow")
        name = experiment_name or EXPERIMENT
        folder = Path(run_dir).resolve() if run_dir else None
        all_tags = {"kiln.run_dir": str(folder)} if folder else {}
        all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
        store = client(uri, KEY) if rank_zero_only.rank == 0 else None  # checked before super()
        super().__init__(
            experiment_name=name,
            run_name=run_name or (folder.name if folder else None),
            tracking_uri=uri,
            tags=all_tags,
            artifact_location=artifact_location or default_artifacts(uri, name),
            log_model=False,  # kiln logs the best checkpoint once the run is over (calibrated)
        )
        self.run_folder = folder
        self.log_checkpoint = bool(log_checkpoint)
        self.trial_params = dict(trial_params or {})
        if store is None:
            return
        try:
            self._experiment_id = experiment_id(store, name, uri)
            if sweep:
                self.tags["mlflow.parentRunId"] = sweep_run(store, self._experiment_id, sweep)
                self.tags["kiln.sweep"] = str(sweep)
            _ = self.experiment  # creates the run now, not in the middle of fit
        except Exception as err:
            raise unreachable(uri, KEY, err) from None
        log.info("MLflow: run %s in experiment %r at %s", self.run_id, name, shown(uri))

    @rank_zero_only
    def log_config(self, config: dict) -> None:
        """The run's resolved config as dotted params (paths, callbacks, logger left out)."""
        params = flatten({k: v for k, v in config.items() if k not in NOT_PARAMS})
        params.update({f"trial/{k}": v for k, v in self.trial_params.items()})
        self.log_hyperparams(params)

    @rank_zero_only
    def finish(self, summary: dict) -> None:
        """The final figures not logged yet, then the run's files as artifacts; the run ends
        FINISHED (Lightning ended it after fit; the test and these come after)."""
        if not self._initialized:
            return
        c, run_id = self.experiment, self.run_id
        have = set(c.get_run(run_id).data.metrics)
        final = {
            k: float(v)
            for k, v in summary.items()
            if k not in have
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
        }
        if final:
            self.log_metrics(final, step=int(summary.get("global_step") or 0))
        best = summary.get("best_checkpoint")
        if self.log_checkpoint and best and Path(best).is_file():
            c.log_artifact(run_id, str(best), "checkpoints")
        folder = self.run_folder
        if folder is not None and folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and (path.name in FILES or path.suffix == ".png"):
                    c.log_artifact(run_id, str(path))
                elif path.is_dir() and path.name in FOLDERS:
                    c.log_artifacts(run_id, str(path), path.name)
        c.set_terminated(run_id, "FINISHED")


class LogConfig(Callback):
    """Logs the module's run config to each kiln MLflow logger when fitting starts, so a run
    that fails still shows what it was."""

    def on_fit_start(self, trainer, pl_module) -> None:
        config = getattr(pl_module, "run_config", None) or {}
        for logger in trainer.loggers:
            if isinstance(logger, KilnMLflowLogger):
                logger.log_config(config)


def config_callbacks(loggers: list) -> list[Callback]:
    """[LogConfig()] where a kiln MLflow logger is among ``loggers``."""
    return [LogConfig()] if any(isinstance(lg, KilnMLflowLogger) for lg in loggers) else []


def finish_runs(trainer, summary: dict) -> None:
    """The end of ``kiln train``: each kiln MLflow logger logs the final figures and files."""
    for logger in trainer.loggers:
        if isinstance(logger, KilnMLflowLogger):
            logger.finish(summary)
