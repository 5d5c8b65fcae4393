"""Output paths that cannot be written, a busy port, a folder given as a file: one sentence,
exit 2, and nothing half-written left behind."""

from __future__ import annotations

import socket

import pytest

import kiln.api
from kiln.errors import KilnError
from tests.helpers import cli


def test_predict_into_a_folder_that_cannot_exist(penguins_artifact, penguins_rows, tmp_path):
    src = tmp_path / "in.csv"
    penguins_rows.head(5).to_csv(src, index=False)
    (tmp_path / "plain").write_text("a file, not a folder\n")
    proc = cli(
        "predict",
        f"artifact={penguins_artifact}",
        f"input={src}",
        f"output={tmp_path / 'plain' / 'out.csv'}",
        runs=tmp_path / "runs",
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert (
        "out.csv cannot be written (" + str(tmp_path / "plain") + " is a file, not a folder)"
        in proc.stderr
    ), proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "plain", "runs"]


def test_export_into_a_folder_that_cannot_exist(penguins_ckpt, tmp_path):
    (tmp_path / "plain").write_text("a file, not a folder\n")
    with pytest.raises(
        KilnError, match=r"out=.*art cannot be created \(.*plain is a file, not a folder\)"
    ):
        kiln.api.run(
            "export",
            [f"ckpt_path={penguins_ckpt}", f"out={tmp_path / 'plain' / 'art'}",
             f"paths.root={tmp_path / 'runs'}"],
        )  # fmt: skip
    assert (tmp_path / "plain").read_text() == "a file, not a folder\n"


def test_a_folder_given_as_a_file_is_called_one(penguins_artifact, tmp_path):
    with pytest.raises(KilnError, match=r"input=.* is not a file"):
        kiln.api.run(
            "predict",
            [f"artifact={penguins_artifact}", f"input={tmp_path}",
             f"output={tmp_path / 'out.csv'}", f"paths.root={tmp_path / 'runs'}"],
        )  # fmt: skip
    with pytest.raises(KilnError, match=r"Checkpoint file .* is not a file"):
        kiln.api.run("eval", [f"ckpt_path={tmp_path}", f"paths.root={tmp_path / 'runs'}"])


def test_serve_on_a_busy_port_says_so_and_exits_2(penguins_artifact, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = cli("serve", f"artifact={penguins_artifact}", f"port={port}", runs=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]  # uvicorn alone exits 3 (drift's status)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip() == (
        f"kiln serve: error: The server could not listen on 127.0.0.1:{port} (Address already in use); "
        "pass port=<a free port> (port=0 picks one), or stop what holds it."
    )  # kiln's sentence alone: uvicorn never started, so it logged nothing of its own


def test_serve_on_an_unknown_host_says_so(penguins_artifact, tmp_path):
    proc = cli("serve", f"artifact={penguins_artifact}", "host=no-such-host.invalid", runs=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert (
        "kiln serve: error: host=no-such-host.invalid is not an address this machine" in proc.stderr
    )


def test_serve_with_an_unknown_log_level(penguins_artifact, tmp_path):
    proc = cli("serve", f"artifact={penguins_artifact}", "log_level=loud", runs=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "log_level='loud' is unknown; use one of critical" in proc.stderr
