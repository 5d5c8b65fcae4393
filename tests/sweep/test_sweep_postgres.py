"""Two `kiln sweep` workers, as on two machines, share one Optuna study in a real PostgreSQL
server on 127.0.0.1: the study ends with exactly N trials, none lost and none run twice."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow
N_TRIALS = 6
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _tool(name: str) -> str | None:
    return shutil.which(name) or next((str(b / name) for b in PG_BIN if (b / name).exists()), None)


def _missing() -> str | None:
    if not (_tool("initdb") and _tool("pg_ctl")):
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if importlib.util.find_spec("psycopg2") is None:
        return "no PostgreSQL driver (pip install 'kiln[postgres]')"
    if importlib.util.find_spec("kiln.tasks.sweep") is None:
        return "kiln sweep (issue 5) is not in this tree"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "initdb refuses root and runuser is missing"
    return None


@pytest.fixture
def postgres():
    """A throwaway server: initdb in a temporary directory, trust auth, a free port."""
    why = _missing()
    if why:
        pytest.skip(why)
    home = Path(tempfile.mkdtemp(prefix="kiln-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(home, "postgres")
        home.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    run = lambda *cmd: subprocess.run([*as_pg, *cmd], check=True, capture_output=True)  # noqa: E731
    run(_tool("initdb"), "-D", str(data), "-U", "kiln", "--auth=trust")
    opts = f"-p {port} -h 127.0.0.1 -k {home}"
    run(_tool("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(home / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg2://kiln@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, _tool("pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        shutil.rmtree(home, ignore_errors=True)


def test_two_workers_on_postgresql_run_each_trial_once(postgres, tmp_path):
    import optuna
    from optuna.trial import TrialState

    # trials of a few seconds each, so the second worker (started once the first has a trial)
    # still finds work left
    args = [sys.executable, "-m", "kiln", "sweep", "sweep=wine_mlp", "test=false"]
    args += [
        "trainer.max_epochs=25",
        "~callbacks.early_stopping",
        "~callbacks.confusion_matrix",
        "sweep.startup_trials=2",
    ]
    args += [f"sweep.n_trials={N_TRIALS}", f"sweep.storage={postgres}", "sweep.plots=false"]
    roots = [tmp_path / "machine_a", tmp_path / "machine_b"]  # separate disks, one database
    # each machine its own sweep.seed: two fresh workers with one seed would draw the same
    # first parameters. Both start at once on the empty database, as two machines would: the
    # one that loses the race to create Optuna's tables retries (kiln.sweep.study.open_storage)
    workers = []
    for seed, root in enumerate(roots):
        env = {**os.environ, "KILN_RUNS": str(root), "PYTHONUNBUFFERED": "1"}
        workers.append(
            subprocess.Popen(
                [*args, f"sweep.seed={seed}"],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-2000:] for o in outs)
    everything = optuna.load_study(study_name="wine_mlp", storage=postgres).trials
    # a worker that asks when the quota is already taken hands its slot back as an empty
    # WAITING trial (docs/sweeps.md); every other trial ran, once
    trials = [t for t in everything if t.state != TrialState.WAITING]
    assert all(not t.params for t in everything if t.state == TrialState.WAITING)
    assert len(trials) == N_TRIALS  # none lost, none extra
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2  # both machines ran trials
    assert len({tuple(sorted(t.params.items())) for t in trials}) == N_TRIALS
    ran = [p.name for root in roots for p in (root / "sweep" / "wine_mlp" / "trials").iterdir()]
    assert sorted(ran) == [f"{t.number:04d}" for t in trials]  # each trial ran on one machine
