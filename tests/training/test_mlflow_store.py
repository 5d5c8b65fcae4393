"""Where MLflow runs go (kiln.training.mlflow_store): the tracking URI's defaults, the artifact
folder beside a SQLite store, passwords out of messages, and a real store opened and probed."""

from pathlib import Path

import pytest

from kiln.errors import KilnError
from kiln.training.mlflow_store import (
    artifact_location,
    client,
    experiment_id,
    resolve_uri,
    shown,
    sqlite_path,
    sweep_run,
)
from tests.helpers.server import free_port


def test_the_uri_is_the_given_one_then_the_environments_then_sqlite_in_the_runs_root(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    assert resolve_uri(None, "runs") == f"sqlite:///{tmp_path.resolve() / 'runs' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_uri(None, "runs") == "http://127.0.0.1:5000"
    assert resolve_uri("sqlite:///x.db", "runs") == "sqlite:///x.db"


def test_a_sqlite_stores_artifacts_sit_beside_its_database(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert sqlite_path(uri) == tmp_path / "mlflow.db"
    assert sqlite_path("sqlite:///runs/mlflow.db") == Path("runs/mlflow.db")
    assert sqlite_path("http://host") is None and sqlite_path("sqlite:///:memory:") is None
    where = artifact_location(uri, "sweep/wine mlp")
    assert where == (tmp_path / "mlartifacts" / "sweep_wine_mlp").as_uri()
    assert artifact_location("http://127.0.0.1:5000", "kiln") is None


def test_a_password_never_shows():
    assert shown("https://bob:hunter22@host/x") == "https://bob:***@host/x"
    assert shown("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_a_real_store_is_made_its_experiment_once_and_one_parent_run_per_sweep(tmp_path):
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'deep' / 'mlflow.db'}"  # the folder is made
    c = client(uri, "tracking_uri")
    first = experiment_id(c, "sweep/demo", uri)
    assert experiment_id(c, "sweep/demo", uri) == first
    assert c.get_experiment(first).artifact_location == artifact_location(uri, "sweep/demo")
    parent = sweep_run(c, first, "demo")
    assert sweep_run(c, first, "demo") == parent  # found again, not made twice
    assert sweep_run(c, first, "other") != parent
    assert c.get_run(parent).data.tags["kiln.role"] == "sweep"


def test_a_server_that_does_not_answer_is_one_sentence_in_seconds():
    pytest.importorskip("mlflow")
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(KilnError, match=r"cannot be used \(no answer") as err:
        client(uri, "tracking_uri")
    assert "check tracking_uri" in str(err.value) and "\n" not in str(err.value)


def test_the_probe_of_a_uri_with_credentials_reaches_its_host_and_never_shows_the_password():
    """urllib reads ``user:pass@host`` as the host name: the probe strips the credentials."""
    import http.server
    import threading

    from kiln.training.mlflow_store import check_reachable

    seen = []

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check_reachable(f"http://bob:hunter22@127.0.0.1:{server.server_port}/ml", "tracking_uri")
    finally:
        server.shutdown()
    assert seen == ["/ml/health"]
    for uri in ("http://bob:hunter22@127.0.0.1:notaport", "http://bob:hunter22@nohost.invalid"):
        with pytest.raises(KilnError) as err:
            check_reachable(uri, "tracking_uri")
        assert "hunter22" not in str(err.value) and "cannot be used" in str(err.value)
