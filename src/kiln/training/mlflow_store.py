"""Where MLflow keeps runs: the tracking URI (SQLite under the runs root unless told otherwise),
its artifact folder, and a client whose failures are one sentence.

MLflow is imported here only inside functions: ``kiln train`` without ``logger=mlflow`` never
pays its import time (about 2 s).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kiln.config.secret_overrides import redact
from kiln.errors import KilnError

DATABASE = (
    "mlflow.db"  # <runs root>/mlflow.db: `mlflow ui --backend-store-uri sqlite:///runs/mlflow.db`
)
ARTIFACTS = "mlartifacts"  # beside the database: <runs root>/mlartifacts/<experiment>/<run id>
PROBE_SECONDS = 5.0


def resolve_uri(given: str | None, runs_root: str | Path = "runs") -> str:
    """The URI a run logs to: ``given``, else $MLFLOW_TRACKING_URI, else SQLite in the runs root
    (an absolute path, so that every process of a run finds the same file)."""
    if given:
        return str(given)
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{(Path(runs_root) / DATABASE).resolve()}"


def shown(uri: str) -> str:
    """The URI for messages and logs: a password in it becomes ***."""
    return redact(uri, uri)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative or absolute), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    path = unquote(uri[len("sqlite:///") :].split("?", 1)[0])
    return Path(path) if path and path != ":memory:" else None


def artifact_location(uri: str, experiment: str) -> str | None:
    """A new experiment's artifact folder: for a SQLite store, ``mlartifacts/<experiment>``
    beside the database (MLflow's own default is ./mlruns in whatever folder the run starts
    in); any other store picks its own."""
    db = sqlite_path(uri)
    if db is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in experiment)
    return (db.resolve().parent / ARTIFACTS / safe).as_uri()


def import_mlflow(key: str):
    try:
        import mlflow
    except ImportError:
        raise KilnError(
            f"{key} needs MLflow, which is not installed here; pip install 'kiln[mlflow]' "
            "(or mlflow>=3), or choose another logger."
        ) from None
    return mlflow


def unreachable(uri: str, key: str, err: BaseException | str) -> KilnError:
    why = err if isinstance(err, str) else f"{type(err).__name__}: {_first_line(err)}"
    return KilnError(
        redact(
            f"MLflow at {uri} cannot be used ({why}); check {key} (null: SQLite at "
            f"<runs root>/{DATABASE}), start the tracking server, or set MLFLOW_TRACKING_URI.",
            uri,
        )
    )


def check_reachable(uri: str, key: str) -> None:
    """Fail in one sentence, in seconds, where MLflow would retry for minutes: an HTTP server
    that does not answer, or a SQLite file whose folder cannot be made."""
    db = sqlite_path(uri)
    if db is not None:
        try:
            db.resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise unreachable(uri, key, err) from None
        return
    scheme = urlsplit(uri).scheme.lower()
    if scheme not in ("http", "https"):
        return  # databricks, a database URL, a plugin's scheme: the client reports those
    import http.client
    import urllib.error
    import urllib.request

    parts = urlsplit(uri)  # the probe never carries user:password@ (urllib reads it as the host)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        netloc += f":{parts.port}" if parts.port else ""
    except ValueError as err:  # a port that is not a number
        raise unreachable(uri, key, err) from None
    probe = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(probe, timeout=PROBE_SECONDS):
            pass
    except urllib.error.HTTPError:
        return  # it answered (an auth proxy's 401 included): reachable
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise unreachable(uri, key, f"no answer: {reason}") from None


def client(uri: str, key: str):
    """An MlflowClient on ``uri``, checked to answer (the store is created if it is new)."""
    import_mlflow(key)
    check_reachable(uri, key)
    from mlflow.tracking import MlflowClient

    try:
        c = MlflowClient(uri)
        c.search_experiments(max_results=1)
    except Exception as err:  # a bad scheme, a refused login, a broken database
        raise unreachable(uri, key, err) from None
    return c


def experiment_id(c, name: str, uri: str) -> str:
    """The id of experiment ``name``, created (artifacts beside a SQLite store) if missing."""
    found = c.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage != "deleted":
        return found.experiment_id
    if found is not None:
        raise KilnError(
            f"MLflow experiment {name!r} is deleted; restore it (mlflow experiments restore) or "
            "log to another name with logger.mlflow.experiment_name=<name>."
        )
    try:
        return c.create_experiment(name, artifact_location=artifact_location(uri, name))
    except Exception:  # another process of a sweep or a multirun made it first
        again = c.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id


def sweep_run(c, experiment: str, sweep: str) -> str:
    """The id of the parent run of sweep ``sweep`` in ``experiment``: the first one made (by
    the sweep's first process, or by any worker that finds none), so every trial nests under it."""
    quoted = sweep.replace("'", "\\'")
    found = c.search_runs(
        [experiment],
        f"tags.`kiln.sweep` = '{quoted}' and tags.`kiln.role` = 'sweep'",
        order_by=["attributes.start_time ASC"],
        max_results=1,
    )
    if found:
        return found[0].info.run_id
    tags = {"kiln.sweep": sweep, "kiln.role": "sweep", "mlflow.runName": f"sweep {sweep}"}
    return c.create_run(experiment, tags=tags).info.run_id


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else ""
