"""kiln sweep end to end on wine: best trial and plots, the `kiln train` line that reproduces
it, resume after SIGKILL, two workers on one SQLite study, errors that name the parameter."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from omegaconf import OmegaConf
from optuna.trial import TrialState

import kiln.api
from kiln.errors import KilnError
from kiln.training.augment import resolve_augment
from kiln.training.builders import build_datamodule
from tests.helpers import REPO, cli

TINY = [
    "sweep=wine_mlp",
    "debug=fast",
    "trainer.max_epochs=3",
    "trainer.enable_model_summary=false",
    "~callbacks.confusion_matrix",
    "sweep.startup_trials=2",
]


def load(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(
        study_name=sweep_dir.name, storage=f"sqlite:///{sweep_dir}/study.sqlite"
    )


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = kiln.api.run("sweep", [f"paths.root={runs}", *TINY, "sweep.n_trials=6"])
    return result, runs / "sweep" / "wine_mlp"


def test_six_trials_end_with_a_best_trial_its_csv_and_plots(swept):
    result, sweep_dir = swept
    study = load(sweep_dir)
    trials = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(study.trials) == len(trials) == 6
    best = max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    saved = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert saved["trial"] == best.number == result["trial"]
    assert saved["value"] == pytest.approx(best.value) and saved["metric"] == "val/f1_best"
    assert saved["params"] == best.params
    for t in trials:  # every trial is an ordinary run whose metrics.json holds its value
        metrics = yaml.safe_load((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())
        if t.state == TrialState.COMPLETE:
            assert metrics["val/f1_best"] == pytest.approx(t.value)
        assert Path(metrics["best_checkpoint"]).is_file()
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    assert [int(r["number"]) for r in rows] == [t.number for t in study.trials]
    for r in rows:  # each trial's evaluation report, linked
        assert r["report"] == str(Path(r["user_attrs_run_dir"]) / "report" / "report.html")
        assert Path(r["report"]).is_file()
    assert saved["report"] == next(r["report"] for r in rows if int(r["number"]) == best.number)
    for name in ("optimization_history", "param_importances", "parallel_coordinate", "slice"):
        png = (sweep_dir / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, name


def test_the_best_command_line_composes_the_best_trials_config(swept, tmp_path):
    result, sweep_dir = swept
    command = yaml.safe_load((sweep_dir / "best.yaml").read_text())["command"].split()
    assert command[:2] == ["kiln", "train"]
    args = [a.strip("'") for a in command[2:]]
    cfg = kiln.api.compose("train", [f"paths.root={tmp_path}", *args])
    # what train makes concrete from the data before it writes config.yaml (augment=auto)
    resolve_augment(cfg, build_datamodule(cfg.data).preprocessor)
    mine = OmegaConf.to_container(cfg, resolve=True)
    trial_dir = result["run_dir"]
    theirs = yaml.safe_load(
        (Path(trial_dir) / "config.yaml").read_text().replace(trial_dir, cfg.paths.output_dir)
    )
    theirs["callbacks"].pop("sweep_pruning")
    for key in ("paths", "task_name", "print_config"):
        mine.pop(key), theirs.pop(key)
    assert mine == theirs


def test_a_bad_search_space_names_the_parameter(tmp_path):
    with pytest.raises(KilnError, match=r"sweep\.params\.model\.dropoutt"):
        kiln.api.run(
            "sweep",
            [f"paths.root={tmp_path}", *TINY, "+sweep.params.model.dropoutt='interval(0, 0.5)'"],
        )
    proc = cli("sweep", *TINY, "sweep.params={optimizer.lr:'interval(1e-3'}", runs=tmp_path)
    assert proc.returncode == 2
    (line,) = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    assert "sweep.params.optimizer.lr" in line and "Traceback" not in proc.stderr


def test_a_misspelt_objective_is_refused_before_the_study_and_any_trial(tmp_path):
    """It used to train trial 0 first and leave a study keyed to the typo behind, which then
    refused the corrected command ("started with other settings")."""
    args = [f"paths.root={tmp_path}", *TINY, "sweep.name=typo", "sweep.n_trials=1"]
    with pytest.raises(KilnError, match=r"objective\.metric=val/acc_bst .*val/f1_best, test/"):
        kiln.api.run("sweep", [*args, "sweep.objective.metric=val/acc_bst"])
    with pytest.raises(KilnError, match=r"test=false: no test metrics\); use one of val/f1_best, "):
        kiln.api.run("sweep", [*args, "sweep.objective.metric=test/acc", "test=false"])
    with pytest.raises(KilnError, match=r"fit_seconds is a figure of the run.*direction=minimize"):
        kiln.api.run("sweep", [*args, "sweep.objective.metric=fit_seconds"])
    sweep_dir = tmp_path / "sweep" / "typo"
    assert not (sweep_dir / "study.sqlite").exists()
    assert not [p for p in sweep_dir.rglob("*") if p.is_file()]


def test_a_run_figure_with_a_direction_is_an_objective(tmp_path):
    args = [f"paths.root={tmp_path}", *TINY, "sweep.name=fast", "sweep.n_trials=1"]
    over = ["sweep.objective.metric=fit_seconds", "sweep.objective.direction=minimize"]
    over.append("sweep.pruner=none")  # pruning follows a validation metric
    result = kiln.api.run("sweep", [*args, *over])
    (trial,) = load(tmp_path / "sweep" / "fast").trials
    assert trial.state == TrialState.COMPLETE and result["value"] == pytest.approx(trial.value)
    metrics = yaml.safe_load((Path(trial.user_attrs["run_dir"]) / "metrics.json").read_text())
    assert trial.value == pytest.approx(metrics["fit_seconds"]) and trial.value > 0


def sweep_cmd(*extra: str) -> list[str]:
    return [sys.executable, "-m", "kiln", "sweep", *TINY, "sweep.pruner=none", *extra]


@pytest.mark.slow
def test_a_killed_sweep_continues_without_repeating_finished_trials(tmp_path):
    env = {**os.environ, "KILN_RUNS": str(tmp_path)}
    args = sweep_cmd("sweep.n_trials=4", "sweep.sampler=random", "trainer.max_epochs=8")
    sweep_dir = tmp_path / "sweep" / "wine_mlp"
    proc = subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            time.sleep(0.3)
            if not (sweep_dir / "study.sqlite").exists():
                continue
            try:  # the file comes first; the study once the search space has composed
                states = [t.state for t in load(sweep_dir).get_trials(deepcopy=False)]
            except KeyError:
                continue
            if TrialState.COMPLETE in states and states[-1] == TrialState.RUNNING:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    before = load(sweep_dir).trials
    done = {t.number: t.params for t in before if t.state == TrialState.COMPLETE}
    (killed,) = [t for t in before if t.state == TrialState.RUNNING]
    assert 1 <= len(done) < 4

    rerun = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = load(sweep_dir).trials
    complete = [t for t in after if t.state == TrialState.COMPLETE]
    assert len(complete) == 4
    assert {n: p for n, p in done.items()} == {
        t.number: t.params for t in complete if t.number in done
    }
    failed = after[killed.number]
    assert failed.state == TrialState.FAIL and "died" in failed.user_attrs["error"]
    (retry,) = [t for t in complete if t.system_attrs.get("failed_trial") == killed.number]
    assert retry.params == killed.params
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 4
    dirs = {int(p.name) for p in (sweep_dir / "trials").iterdir()}
    assert {t.number for t in complete} <= dirs <= {t.number for t in complete} | {killed.number}


@pytest.mark.slow
def test_two_workers_share_one_study_without_duplicates_or_losses(tmp_path):
    proc = cli(
        *sweep_cmd("sweep.n_trials=12", "sweep.n_workers=2", "trainer.max_epochs=6")[3:],
        runs=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    sweep_dir = tmp_path / "sweep" / "wine_mlp"
    every = load(sweep_dir).trials
    trials = [t for t in every if t.state == TrialState.COMPLETE]
    assert len(trials) == 12
    # a slot two workers asked for at the same instant is handed back: waiting, never run
    assert all(t.state == TrialState.WAITING and not t.params for t in every if t not in trials)
    # both processes ran trials (twelve, so that the helper's start-up, some seconds of
    # imports on a busy machine, is shorter than the trials the first worker runs meanwhile)
    assert len({t.user_attrs["pid"] for t in trials}) == 2
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 12
    dirs = sorted(p.name for p in (sweep_dir / "trials").iterdir())
    assert dirs == [f"{t.number:04d}" for t in trials]


def test_kiln_tensorboard_serves_every_trials_hparams_and_metrics(swept):
    import httpx

    _, sweep_dir = swept
    study = load(sweep_dir)
    env = {k: v for k, v in os.environ.items() if k != "KILN_DEBUG"}
    env["KILN_RUNS"] = str(sweep_dir.parents[1])  # its log goes beside the runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiln", "tensorboard", str(sweep_dir), "port=0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("TensorBoard http://127.0.0.1:"):
                url = line.split()[1]
                break
        assert url, "kiln tensorboard printed no URL"
        deadline, groups = time.time() + 60, []
        while time.time() < deadline and len(groups) < len(study.trials):
            time.sleep(0.5)
            reply = httpx.post(
                url + "data/plugin/hparams/session_groups",
                json={
                    "experimentName": "",
                    "allowedStatuses": [
                        "STATUS_UNKNOWN",
                        "STATUS_SUCCESS",
                        "STATUS_FAILURE",
                        "STATUS_RUNNING",
                    ],
                    "colParams": [],
                    "startIndex": 0,
                    "sliceSize": 100,
                },
                timeout=10,
            )
            groups = reply.json().get("sessionGroups", []) if reply.status_code == 200 else []
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert len(groups) == len(study.trials)
    by_run = {g["name"].split("/")[1]: g for g in groups}  # trials/<number>/tensorboard
    for t in study.trials:
        group = by_run[f"{t.number:04d}"]
        assert group["hparams"]["optimizer.lr"] == pytest.approx(t.params["optimizer.lr"])
        assert group["hparams"]["model.dropout"] == pytest.approx(t.params["model.dropout"])
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        final = yaml.safe_load((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())
        assert metrics["val/f1_best"] == pytest.approx(final["val/f1_best"], abs=1e-6)
        assert metrics["test/f1"] == pytest.approx(final["test/f1"], abs=1e-6)


@pytest.mark.slow
def test_a_failing_trial_is_recorded_with_its_error_and_the_sweep_goes_on(tmp_path):
    own = tmp_path / "conf"
    (own / "sweep").mkdir(parents=True)
    (own / "sweep" / "blowup.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /experiment: wine_mlp\n"
        "sweep:\n  params:\n    optimizer.lr: choice(0.003, 1e12)\n"
    )
    overrides = [f"paths.root={tmp_path / 'runs'}", "sweep=blowup", *TINY[1:]]
    result = kiln.api.run(
        "sweep", [*overrides, "sweep.sampler=grid", "sweep.pruner=none"], config_dir=own
    )
    study = load(tmp_path / "runs" / "sweep" / "blowup")
    by_lr = {t.params["optimizer.lr"]: t for t in study.trials}
    assert by_lr[0.003].state == TrialState.COMPLETE and result["params"] == {"optimizer.lr": 0.003}
    failed = by_lr[1e12]
    assert failed.state == TrialState.FAIL and failed.user_attrs["error"].startswith("KilnError")
    rows = list(csv.DictReader((tmp_path / "runs" / "sweep" / "blowup" / "trials.csv").open()))
    assert [r["user_attrs_error"] for r in rows if r["state"] == "FAIL"] == [
        failed.user_attrs["error"]
    ]
