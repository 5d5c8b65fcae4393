"""After `kiln train -m ...`: one table of every job's overrides and final metrics.

A Hydra callback (registered in conf/hydra/default.yaml): each job's return value (train's
final metrics) is collected as the job ends, and the table is printed when the multirun ends.
Jobs that ran in other processes (Hydra's submitit launcher: SLURM jobs) end there, so for
them the table is read from each job directory's overrides and metrics.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class MultirunTable(Callback):
    def __init__(self, max_metrics: int = 8) -> None:
        self.max_metrics = max_metrics
        self.jobs: list[tuple[int, list[str], dict | None]] = []

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        num = int(config.hydra.job.get("num", len(self.jobs)) or 0)
        value = None
        if job_return.status == JobStatus.COMPLETED:  # return_value re-raises a failed job's error
            value = job_return.return_value if isinstance(job_return.return_value, dict) else None
        self.jobs.append((num, list(job_return.overrides or []), value))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.jobs = self.jobs or self.from_disk(Path(str(config.hydra.sweep.dir)))
        if not self.jobs:
            return
        from rich.console import Console

        Console(width=160).print(self.table(str(config.hydra.sweep.dir)))

    @staticmethod
    def from_disk(sweep_dir: Path) -> list[tuple[int, list[str], dict | None]]:
        """(num, overrides, metrics or None) of each job directory ``<sweep>/<num>``."""
        from omegaconf import OmegaConf

        jobs = []
        for job in sweep_dir.iterdir() if sweep_dir.is_dir() else ():
            overrides = job / ".hydra" / "overrides.yaml"
            if job.name.isdigit() and overrides.is_file():
                metrics = job / "metrics.json"
                value = json.loads(metrics.read_text()) if metrics.is_file() else None
                jobs.append((int(job.name), list(OmegaConf.load(overrides)), value))
        return jobs

    def rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows: the overrides that vary between jobs, then each final metric."""
        jobs = sorted(self.jobs, key=lambda j: j[0])
        varying = [
            o for o in {o for _, ov, _ in jobs for o in ov} if not all(o in ov for _, ov, _ in jobs)
        ]
        metrics = sorted(  # the run's own metrics first, calibration/* and the like after
            {
                k
                for _, _, m in jobs
                if m
                for k, v in m.items()
                if "/" in k and isinstance(v, (int, float))
            },
            key=lambda k: (k.split("/")[0] not in ("train", "val", "test"), k),
        )
        metrics = metrics[: self.max_metrics]
        rows = []
        for num, overrides, m in jobs:
            shown = [o for o in overrides if o in varying] or overrides
            cells = [
                f"{m[k]:.6f}" if m and k in m else ("failed" if m is None else "") for k in metrics
            ]
            rows.append([str(num), " ".join(shown), *cells])
        return ["job", "overrides", *metrics], rows

    def table(self, title: str):
        from rich.table import Table

        header, rows = self.rows()
        table = Table(title=f"multirun {title}", header_style="bold")
        for i, name in enumerate(header):
            table.add_column(name, justify="right" if i >= 2 else "left")
        for row in rows:
            table.add_row(*row)
        return table
