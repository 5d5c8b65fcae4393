"""logger=mlflow and export register=<name> against a real `mlflow server` process on
127.0.0.1 (SQLite behind it, artifacts proxied by the server), read back over HTTP."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import kiln.api
from tests.helpers import run_dir, train
from tests.helpers.server import free_port

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.slow
TINY = ["experiment=wine_mlp", "debug=fast", "~callbacks.confusion_matrix", "calibrate=false"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mlflow server` in its own process group, up until /health answers (bounded)."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (root / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow server did not answer within 240 s"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            time.sleep(0.5)
        yield url, root
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def test_a_training_run_logs_to_the_server(server, runs, tmp_path):
    url, root = server
    result = train(runs, *TINY, "logger=mlflow", f"logger.mlflow.tracking_uri={url}")
    assert not (runs / "mlflow.db").exists()  # the server's store, not the local default
    mlflow.set_tracking_uri(url)
    df = mlflow.search_runs(experiment_names=["kiln"])
    assert len(df) == 1 and df.iloc[0]["status"] == "FINISHED"
    row = df.iloc[0]
    assert row["params.data.name"] == "wine"
    assert row["metrics.test/acc"] == pytest.approx(result["test/acc"], rel=1e-6)
    client = MlflowClient(url)
    assert [m.step for m in client.get_metric_history(row["run_id"], "train/loss")] == [0, 1, 2]
    got = Path(client.download_artifacts(row["run_id"], "checkpoints/best.ckpt", str(tmp_path)))
    assert got.read_bytes() == Path(result["best_checkpoint"]).read_bytes()
    names = {a.path for a in client.list_artifacts(row["run_id"])}
    assert {"config.yaml", "metrics.json", "checkpoints"} <= names
    # the server keeps the files in its own artifact folder
    assert list((root / "artifacts").rglob("best.ckpt"))
    assert (run_dir(result) / "metrics.json").is_file()


def test_export_registers_a_model_version_on_the_server(server, penguins_ckpt, tmp_path):
    url, _ = server
    out = tmp_path / "artifact"
    result = kiln.api.run(
        "export",
        [
            f"ckpt_path={penguins_ckpt}",
            f"out={out}",
            f"paths.root={tmp_path}",
            "format=torch",
            "register=penguins-server",
            f"tracking_uri={url}",
        ],
    )
    version = MlflowClient(url).get_model_version("penguins-server", str(result["model_version"]))
    assert version.run_id == result["mlflow_run_id"] and version.status == "READY"
    files = {a.path for a in MlflowClient(url).list_artifacts(version.run_id, "artifact")}
    assert {"artifact/metadata.json", "artifact/weights.safetensors"} <= files
