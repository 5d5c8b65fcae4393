"""Secrets never reach disk: an API key or a database password typed as an override is in no
file of the run directory (Hydra's .hydra/*.yaml, kiln's config, the log), while the running
server still checks the real key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

import kiln.api
from kiln.config.secret_overrides import hide_secrets, redact
from tests.helpers import REPO, cli
from tests.helpers.server import free_port, to_records, wait_ready

SECRET = "k3y-0f-th3-s3rv3r-5e7a"


def files_holding(root: Path, secret: str) -> list[Path]:
    """The files under ``root`` whose bytes contain ``secret``; asserts there are files at all."""
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, f"nothing was written under {root}"
    return [p for p in files if secret.encode() in p.read_bytes()]


def test_serve_api_key_is_used_but_not_written(penguins_artifact, penguins_rows, tmp_path):  # noqa: F811
    runs, port = tmp_path / "runs", free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KILN_RUNS": str(runs)}
    env.pop("KILN_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiln", "serve", f"artifact={penguins_artifact}", f"port={port}",
         f"api_key={SECRET}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        record = to_records(penguins_rows.head(1))[0]
        assert httpx.post(f"{url}/predict", json=record).status_code == 401
        wrong = httpx.post(f"{url}/predict", json=record, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401
        right = httpx.post(f"{url}/predict", json=record, headers={"X-API-Key": SECRET})
        assert right.status_code == 200, right.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    hydra_dir = next(runs.rglob(".hydra"))
    assert {"config.yaml", "overrides.yaml", "hydra.yaml"} <= {p.name for p in hydra_dir.iterdir()}
    assert "api_key=" in (hydra_dir / "overrides.yaml").read_text()  # the reference, not the key
    assert files_holding(runs, SECRET) == []


def test_a_database_password_is_in_no_file_nor_message(tmp_path):
    runs, password = tmp_path / "runs", "pa55-w0rd-1n-url"
    storage = f"postgresql://kiln:{password}@127.0.0.1:1/studies"
    proc = cli("sweep", f"sweep.storage={storage}", "sweep.n_trials=1", runs=runs, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "sweep.storage" in proc.stderr and "kiln:***@127.0.0.1" in proc.stderr
    assert password not in proc.stderr + proc.stdout
    assert files_holding(runs, password) == []


def test_the_api_hides_a_secret_too(tmp_path):
    cfg = kiln.api.compose("serve", ["artifact=x", f"api_key={SECRET}"])
    assert cfg.api_key == SECRET  # the task gets the value...
    from omegaconf import OmegaConf

    assert SECRET not in OmegaConf.to_yaml(cfg)  # ...what is saved unresolved holds a reference


def test_which_overrides_are_secrets():
    given = ["api_key=a1", "+db.password='p w'", "x.auth_token=t", "sweep.storage=mysql://u:p@h/d",
             "api_key_header=X-Key", "preprocess.impute=token", "model.max_tokens=5",
             "sweep.storage=sqlite:///s.db", "api_key=null", "api_key=${oc.env:K}", "-m", "~api_key"]  # fmt: skip
    hidden = hide_secrets(given)
    assert hidden[:4] == [
        "api_key=${oc.env:KILN_SECRET_API_KEY}",
        "+db.password=${oc.env:KILN_SECRET_DB_PASSWORD}",
        "x.auth_token=${oc.env:KILN_SECRET_X_AUTH_TOKEN}",
        "sweep.storage=${oc.env:KILN_SECRET_SWEEP_STORAGE}",
    ]
    assert hidden[4:] == given[4:]
    assert os.environ["KILN_SECRET_DB_PASSWORD"] == "p w"
    assert redact("at mysql://u:p@h/d", "mysql://u:p@h/d") == "at mysql://u:***@h/d"
