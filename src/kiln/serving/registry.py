"""``kiln export ... register=<name>``: the exported artifact as a new version of an MLflow
registered model. The artifact folder is logged to a run of experiment ``kiln`` and the
version's source points at that copy; its tags say where the artifact and its checkpoint are.

Registration runs after the export is on disk: when MLflow fails, the artifact stays and the
error says where it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiln.config.secret_overrides import redact
from kiln.errors import KilnError
from kiln.training.mlflow_logger import EXPERIMENT
from kiln.training.mlflow_store import client, experiment_id, resolve_uri, shown

log = logging.getLogger("kiln")
KEY = "tracking_uri"  # kiln export's own key
ARTIFACT_PATH = "artifact"


def register_artifact(
    artifact: Path, name: str, tracking_uri: str | None, runs_root: str | Path, meta: dict
) -> dict:
    """Register ``artifact`` as a version of model ``name``; returns the model name, its new
    version, the run id and the tracking URI (without a password)."""
    uri = resolve_uri(tracking_uri, runs_root)
    try:
        c = client(uri, KEY)
        exp = experiment_id(c, EXPERIMENT, uri)
        tags = {
            "mlflow.runName": f"export {artifact.name}",
            "kiln.role": "export",
            "kiln.artifact": str(artifact.resolve()),
            "kiln.source_checkpoint": str(meta.get("source_checkpoint", "")),
        }
        run = c.create_run(exp, tags=tags)
        run_id = run.info.run_id
        c.log_artifacts(run_id, str(artifact), ARTIFACT_PATH)
        if not c.search_registered_models(f"name = '{_quoted(name)}'", max_results=1):
            c.create_registered_model(name, description="kiln export artifacts")
        version = c.create_model_version(
            name,
            source=f"{run.info.artifact_uri}/{ARTIFACT_PATH}",
            run_id=run_id,
            tags={
                "kiln.format": str(meta.get("format", "")),
                "kiln.task": str(meta.get("task", "")),
                "kiln.artifact": str(artifact.resolve()),
            },
        )
        c.set_terminated(run_id, "FINISHED")
    except Exception as err:
        why = str(err) if isinstance(err, KilnError) else f"{type(err).__name__}: {err}"
        text = (
            f"{artifact} is exported and kept, but registering it as MLflow model {name!r} "
            f"failed: {why.strip().splitlines()[0]}".rstrip(".")
            + "; fix that and export again with out=<a new directory>."
        )
        raise KilnError(redact(text, uri)) from None
    log.info("MLflow: %s version %s at %s (run %s)", name, version.version, shown(uri), run_id)
    print(f"kiln export: registered {name!r} version {version.version} in MLflow at {shown(uri)}")
    return {
        "registered_model": name,
        "model_version": int(version.version),
        "mlflow_run_id": run_id,
        "tracking_uri": shown(uri),
    }


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")
