"""The CLI behaves as Hydra users expect: help, --cfg, multirun, a user's config dir, completion."""

import json
import os
import subprocess
import sys
import zipfile

from tests.helpers import REPO, cli


def test_kiln_help_lists_commands():
    proc = cli("--help")
    assert proc.returncode == 0 and "train" in proc.stdout and "eval" in proc.stdout


def test_train_help_lists_config_groups():
    proc = cli("train", "--help")
    assert proc.returncode == 0
    for group in (
        "data:",
        "model:",
        "optimizer:",
        "scheduler:",
        "trainer:",
        "experiment:",
        "debug:",
    ):
        assert group in proc.stdout, group
    assert "cnn, ft_transformer, gru, lstm, mlp" in proc.stdout


def test_cfg_job_prints_the_composed_config_without_running(runs):
    proc = cli("train", "experiment=wine_mlp", "optimizer.lr=0.123", "--cfg", "job", runs=runs)
    assert proc.returncode == 0
    assert "lr: 0.123" in proc.stdout and "name: wine" in proc.stdout
    assert not any(runs.iterdir())


def test_multirun_gives_each_job_its_own_directory(runs):
    proc = cli(
        "train",
        "-m",
        "experiment=wine_mlp",
        "debug=fast",
        "optimizer=adam,sgd",
        "print_config=false",
        runs=runs,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (sweep,) = (runs / "train-multirun").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1"]
    for job in jobs:
        assert "test/f1" in json.loads((job / "metrics.json").read_text())


def test_user_config_dir_adds_an_experiment(runs, tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: wine\n  - override /model: mlp\nmodel:\n  hidden: [7]\n"
    )
    proc = cli("train", "--config-dir", str(tmp_path), "experiment=mine", "--cfg", "job", runs=runs)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hidden:\n  - 7" in proc.stdout and "name: wine" in proc.stdout


def test_parallel_runs_never_share_a_directory(runs):
    env = {**os.environ, "KILN_RUNS": str(runs), "PYTHONUNBUFFERED": "1"}
    args = [
        sys.executable,
        "-m",
        "kiln",
        "train",
        "experiment=wine_mlp",
        "debug=fast",
        "print_config=false",
    ]
    procs = [
        subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    dirs = list((runs / "train").iterdir())
    assert len(dirs) == 2 and all((d / "metrics.json").is_file() for d in dirs)


def test_shell_completion_knows_commands_and_groups():
    env = {"COMP_LINE": "kiln tr", "COMP_POINT": "7"}
    proc = cli("-sc", "query=bash", env=env)
    assert proc.stdout.split() == ["train"]
    proc = cli("-sc", "query=bash", env={"COMP_LINE": "kiln train model=", "COMP_POINT": "17"})
    assert {"model=cnn", "model=mlp"} <= set(proc.stdout.split())
    proc = cli("train", "-sc", "install=bash")
    assert "complete" in proc.stdout and "hydra_bash_completion" in proc.stdout


def test_wheel_ships_the_configs(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("kiln-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in (
        "kiln/conf/train.yaml",
        "kiln/conf/eval.yaml",
        "kiln/conf/model/cnn.yaml",
        "kiln/conf/experiment/digits_cnn.yaml",
    ):
        assert path in names, path


def test_python_api_takes_a_user_config_dir(tmp_path):
    import kiln.api

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /data: wine\nmodel:\n  hidden: [5]\n"
    )
    cfg = kiln.api.compose("train", ["experiment=mine", "model=mlp"], config_dir=tmp_path)
    assert list(cfg.model.hidden) == [5] and cfg.data.name == "wine"
