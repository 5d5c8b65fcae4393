"""What a sweep leaves behind: best.yaml (parameters, metric, the `kiln train` command line),
trials.csv, PNG plots from optuna.visualization.matplotlib, and a table on stdout."""

from __future__ import annotations

import logging
import shlex
import warnings
from pathlib import Path

import optuna
import yaml
from optuna.trial import TrialState

from kiln.files import atomic as atomic_files
from kiln.reporting import REPORT_DIR, REPORT_HTML

log = logging.getLogger("kiln")

PLOTS = {
    "optimization_history": "plot_optimization_history",
    "param_importances": "plot_param_importances",
    "parallel_coordinate": "plot_parallel_coordinate",
    "slice": "plot_slice",
}


def trial_report(run_dir: str | None) -> str | None:
    """A trial's evaluation report (``<run_dir>/report/report.html``), where it wrote one."""
    if not run_dir:
        return None
    page = Path(run_dir) / REPORT_DIR / REPORT_HTML
    return str(page) if page.is_file() else None


def write_csv(study: optuna.Study, path: Path) -> None:
    df = study.trials_dataframe(
        attrs=("number", "value", "state", "params", "user_attrs", "datetime_start", "duration")
    )
    if "user_attrs_run_dir" in df:  # each candidate's evaluation report, linked
        df["report"] = [
            trial_report(d) if isinstance(d, str) else None for d in df["user_attrs_run_dir"]
        ]
    atomic_files.write_text(path, df.to_csv(index=False))


def write_best(study: optuna.Study, metric: str, command: list[str], path: Path) -> dict:
    best = study.best_trial
    payload = {
        "metric": metric,
        "direction": study.direction.name.lower(),
        "value": float(best.value),
        "trial": best.number,
        "params": dict(best.params),
        "overrides": list(best.user_attrs.get("overrides", [])),
        "run_dir": best.user_attrs.get("run_dir"),
        "report": trial_report(best.user_attrs.get("run_dir")),
        "command": "kiln train " + " ".join(shlex.quote(a) for a in command),
        "trials": {
            s.name.lower(): len(study.get_trials(deepcopy=False, states=(s,)))
            for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        },
    }
    atomic_files.write_text(path, yaml.safe_dump(payload, sort_keys=False))
    return payload


def write_plots(study: optuna.Study, out_dir: Path, metric: str) -> list[Path]:
    """Each plot Optuna can draw for this study; one that cannot (too few trials) is skipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    written = []
    for name, fn in PLOTS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = getattr(ovm, fn)(study, target_name=metric)
        except Exception as err:  # noqa: BLE001 - a plot Optuna cannot draw is not an error
            log.info("plot %s skipped: %s", name, err)
            continue
        axes = ax.flatten() if hasattr(ax, "flatten") else [ax]
        fig = axes[0].figure
        fig.set_size_inches(max(fig.get_size_inches()[0], 8), max(fig.get_size_inches()[1], 5))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout()
        path = out_dir / f"{name}.png"
        atomic_files.save_figure(fig, path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def print_table(study: optuna.Study, metric: str, limit: int = 20) -> None:
    from rich.console import Console
    from rich.table import Table

    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    done.sort(key=lambda t: t.value, reverse=study.direction.name == "MAXIMIZE")
    rest = [t for t in trials if t.state in (TrialState.PRUNED, TrialState.FAIL)]
    table = Table(title=f"sweep {study.study_name}: {metric}", header_style="bold")
    for col in ("trial", "state", metric, "parameters"):
        table.add_column(col, justify="right" if col == metric else "left")
    for t in (done + rest)[:limit]:
        value = "" if t.value is None else f"{t.value:.6f}"
        detail = " ".join(t.user_attrs.get("overrides", [])) or ""
        if t.state == TrialState.FAIL and t.user_attrs.get("error"):
            detail += f"  [{t.user_attrs['error']}]"
        table.add_row(str(t.number), t.state.name.lower(), value, detail)
    Console().print(table)
