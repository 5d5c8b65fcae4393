"""kiln export register=<name> against a real SQLite tracking store: the artifact becomes a
model version whose source holds the same files, a second export the next version; a store
that cannot be used is one sentence at exit 2 and the export stays whole on disk."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

import kiln.api
from kiln.errors import KilnError
from kiln.serving.predictor import Predictor
from tests.helpers import cli
from tests.helpers.server import free_port

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_store_only():
    """A developer's MLFLOW_TRACKING_URI must not receive the tests' runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def export(ckpt: Path, out: Path, *overrides: str) -> dict:
    """kiln export in-process; format=torch: the registry does not care, and it skips ONNX."""
    args = [f"ckpt_path={ckpt}", f"out={out}", f"paths.root={out.parent}", "format=torch"]
    return kiln.api.run("export", [*args, *overrides])


def test_the_artifact_becomes_a_model_version_with_the_same_files(penguins_ckpt, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # the default: <runs root>/mlflow.db
    first = export(penguins_ckpt, tmp_path / "a", "register=penguins")
    assert first["registered_model"] == "penguins" and first["model_version"] == 1
    client = MlflowClient(uri)
    version = client.get_model_version("penguins", "1")
    assert version.run_id == first["mlflow_run_id"] and version.status == "READY"
    assert version.tags["kiln.format"] == "torch"
    assert version.tags["kiln.artifact"] == str((tmp_path / "a").resolve())
    got = Path(client.download_artifacts(version.run_id, "artifact", str(tmp_path / "dl")))
    assert digest(got) == digest(tmp_path / "a") and "weights.safetensors" in digest(got)
    assert version.source.endswith("/artifact")
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["kiln.role"] == "export"

    second = export(penguins_ckpt, tmp_path / "b", "register=penguins")
    assert second["model_version"] == 2
    latest = client.search_model_versions("name = 'penguins'")
    assert sorted(int(v.version) for v in latest) == [1, 2]


def test_a_server_that_does_not_answer_is_one_sentence_at_exit_2_and_the_export_stays(
    penguins_ckpt, penguins_rows, tmp_path
):
    uri = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / "artifact"
    done = cli(
        "export",
        f"ckpt_path={penguins_ckpt}",
        f"out={out}",
        "format=torch",
        "register=penguins",
        f"tracking_uri={uri}",
        runs=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"kiln export: error: {out} is exported and kept, but registering")
    assert uri in last and "no answer" in last and "Traceback" not in done.stderr
    assert {"weights.safetensors", "metadata.json"} <= set(digest(out))
    frame = Predictor(out).predict(penguins_rows.head(5))  # whole: it loads and predicts
    probs = frame[[c for c in frame.columns if c.startswith("proba_")]].to_numpy()
    assert probs.shape == (5, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_a_store_mlflow_does_not_know_is_one_sentence_and_the_export_stays(penguins_ckpt, tmp_path):
    out = tmp_path / "artifact"
    with pytest.raises(KilnError) as err:
        export(penguins_ckpt, out, "register=penguins", "tracking_uri=nosuch://store")
    text = str(err.value)
    assert text.startswith(f"{out} is exported and kept") and "nosuch://store" in text
    assert "\n" not in text and (out / "metadata.json").is_file()
