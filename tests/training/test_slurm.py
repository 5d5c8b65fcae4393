"""kiln under a real SLURM: a one-node cluster on this machine (scripts/slurm_local.sh), jobs
submitted by Hydra's submitit launcher, and two srun tasks that Lightning's SLURM environment
turns into one DDP run written by rank 0 alone."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import REPO, cli
from tests.helpers.ddp import COMMON, PROBE, write_config_dir

pytestmark = pytest.mark.slow
SBIN = ("/usr/sbin", "/usr/local/sbin")
# the launcher for CPU partitions; one CPU per task, as the local node has two
SUBMIT = ["-m", "hydra/launcher=slurm_cpu", "hydra.launcher.cpus_per_task=1"]
TINY = ["experiment=digits_mlp", "debug=fast", "print_config=false"]


def _missing() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    for tool in ("munged", "mungekey", "slurmctld", "slurmd", "sinfo", "srun", "sbatch"):
        if not shutil.which(tool, path=path):
            return f"{tool} is not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the local cluster's slurmd must run as root to start job steps"
    if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None:
        return "Hydra's submitit launcher is missing (pip install 'kiln[slurm]')"
    return None


@pytest.fixture(scope="module")
def slurm():
    """A throwaway cluster: munged, slurmctld and slurmd on free ports, state in a temp dir."""
    why = _missing()
    if why:
        pytest.skip(why)
    home = Path(tempfile.mkdtemp(prefix="kiln-slurm-"))
    script = str(REPO / "scripts" / "slurm_local.sh")
    started = subprocess.run([script, "start", str(home)], capture_output=True, text=True)
    if started.returncode != 0:
        subprocess.run([script, "stop", str(home)])
        logs = "".join(p.read_text()[-1500:] for p in home.glob("*.log"))
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"the local SLURM cluster did not start: {started.stderr}\n{logs}")
    try:
        yield {"SLURM_CONF": str(home / "slurm.conf")}
    finally:
        subprocess.run([script, "stop", str(home)])
        shutil.rmtree(home, ignore_errors=True)


def _job_logs(sweep: Path) -> dict[str, str]:
    """submitit's stdout of each SLURM task, by '<job id>_<task>'."""
    return {
        p.name.removesuffix("_log.out"): p.read_text()
        for p in (sweep / ".submitit").rglob("*_log.out")
    }


def test_a_sweep_runs_each_point_as_its_own_slurm_job(slurm, tmp_path):
    proc = cli("train", *SUBMIT, *TINY, "optimizer.lr=1e-3,3e-3", runs=tmp_path, env=slurm)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sweep,) = (tmp_path / "train-multirun").iterdir()
    # one SLURM array job, one element per point, each one task that ran kiln's job
    logs = _job_logs(sweep)
    assert len(logs) == 2
    ids = sorted(re.search(r"JobEnvironment\(job_id=(\S+),", text)[1] for text in logs.values())
    array = ids[0].split("_")[0]
    assert ids == [f"{array}_0", f"{array}_1"]
    for num, lr in (("0", 0.001), ("1", 0.003)):
        run = sweep / num
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["global_step"] == 3 and 0 < metrics["test/acc"] <= 1
        assert f"lr: {lr}" in (run / "config.yaml").read_text()
        # the multirun table, read back from the job directories the SLURM jobs wrote
        (row,) = [ln for ln in proc.stdout.splitlines() if f"optimizer.lr={lr} " in ln]
        assert row.split()[1] == num and f"{metrics['test/acc']:.6f}" in row


def _ddp_ranks_ran(ids: Path) -> None:
    """Both ranks trained on their own half of the 280 training rows (RecordIds' files)."""
    r0 = json.loads((ids / "train_rank0_epoch0.json").read_text())
    r1 = json.loads((ids / "train_rank1_epoch0.json").read_text())
    assert len(r0) == len(r1) == 140 and not set(r0) & set(r1)


def _one_run_by_rank_zero(run: Path, scratch_root: Path) -> None:
    names = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}
    assert {"config.yaml", "metrics.json", "train.log", "checkpoints/best.ckpt"} <= names
    events = [n for n in names if n.startswith("tensorboard/events.out.tfevents")]
    assert len({n.split(".")[-2] for n in events}) == 1  # one writing process (pid)
    assert not list(scratch_root.glob("kiln-rank*"))  # rank 1 worked in scratch, now gone
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["global_step"] == 2 * 9  # 140 rows per rank / 16 = 9 steps per epoch


def _srun(slurm: dict, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`srun <args>` against the local cluster, runs under tmp_path/runs."""
    env = {**os.environ, **slurm, "KILN_RUNS": str(tmp_path / "runs"), "TMPDIR": str(tmp_path)}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        ["srun", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_two_srun_tasks_make_one_ddp_run(slurm, tmp_path):
    conf, runs, ids = write_config_dir(tmp_path / "conf"), tmp_path / "runs", tmp_path / "ids"
    cmd = ["--nodes=1", "--ntasks-per-node=2", sys.executable, "-m", "kiln", "train"]
    cmd += ["--config-dir", str(conf), *COMMON, "trainer=ddp_cpu", "data.batch_size=16"]
    cmd += [f"+callbacks.record_ids._target_={PROBE}.RecordIds"]
    cmd += [f"+callbacks.record_ids.out_dir={ids}"]
    proc = _srun(slurm, tmp_path, *cmd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("MEMBER: 1/2") == 1  # ranks from SLURM; rank 1 is quiet
    assert proc.stdout.count("global batch 32 = data.batch_size 16 per process x 2") == 1
    assert proc.stdout.count("final metrics") == 1
    (run,) = (runs / "train").iterdir()
    _one_run_by_rank_zero(run, tmp_path)
    _ddp_ranks_ran(ids)


def test_a_submitit_job_of_two_tasks_is_one_ddp_run(slurm, tmp_path):
    """slurm_cpu asks for trainer.devices tasks; each task runs the job, rank 0 writes it."""
    conf, ids = write_config_dir(tmp_path / "conf"), tmp_path / "ids"
    proc = cli(
        "train",
        "--config-dir",
        str(conf),
        *SUBMIT,
        *COMMON,
        "trainer=ddp_cpu",
        "data.batch_size=16",
        f"+callbacks.record_ids._target_={PROBE}.RecordIds",
        f"+callbacks.record_ids.out_dir={ids}",
        runs=tmp_path / "runs",
        env={**slurm, "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sweep,) = (tmp_path / "runs" / "train-multirun").iterdir()
    (script,) = (sweep / ".submitit").rglob("*_submission.sh")
    assert "#SBATCH --ntasks-per-node=2" in script.read_text()
    logs = _job_logs(sweep)
    assert sorted(re.sub(r"^\d+_", "", k) for k in logs) == ["0", "1"]  # two tasks, one job
    assert any("global_rank=1(2)" in text for text in logs.values())
    # submitit hands every task the submitting process's config; rank 1 still got a scratch dir
    (result,) = (sweep / ".submitit").rglob("*_1_result.pkl")
    outcome, job = pickle.loads(result.read_bytes())
    assert outcome == "success"
    assert Path(job.hydra_cfg.hydra.runtime.output_dir).parent.name.startswith("kiln-rank1-")
    _one_run_by_rank_zero(sweep / "0", tmp_path)
    _ddp_ranks_ran(ids)


def test_a_ddp_multirun_in_an_interactive_job_starts_ranks_per_job(slurm, tmp_path):
    """A job named interactive (or bash: `srun --pty bash`) is a shell, not a launcher:
    Lightning starts each job's ranks, and the next job must not take itself for one."""
    cmd = ["--job-name=interactive", "--ntasks=1", "--cpus-per-task=2", sys.executable]
    cmd += ["-m", "kiln", "train", "-m", *TINY, "trainer=ddp_cpu", "optimizer=adam,sgd"]
    proc = _srun(slurm, tmp_path, *cmd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("GLOBAL_RANK: 0, MEMBER: 1/2") == 2  # one group per job
    (sweep,) = (tmp_path / "runs" / "train-multirun").iterdir()
    assert all((sweep / job / "metrics.json").is_file() for job in ("0", "1"))


def test_tasks_that_do_not_match_the_devices_stop_with_one_sentence(slurm, tmp_path):
    proc = _srun(slurm, tmp_path, "--ntasks-per-node=2", sys.executable, "-m", "kiln", "train")
    assert proc.returncode != 0
    assert "error: SLURM started 2 task(s) on 1 node(s) but trainer.devices" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("kiln-rank*"))  # the failed rank 1 left no scratch behind
