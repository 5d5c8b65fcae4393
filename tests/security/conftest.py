"""Fixtures for the trust tests: the serving tests' tiny penguins checkpoint and artifact
(exported once), a format=torch artifact of it, the payload a hostile file would carry, and no
signing key from the caller's environment: each test sets the one it means."""

from __future__ import annotations

from pathlib import Path

import pytest

import kiln.api


@pytest.fixture(scope="session")
def torch_artifact(penguins_ckpt, tmp_path_factory) -> Path:  # noqa: F811
    out = tmp_path_factory.mktemp("sec_artifacts") / "penguins_torch"
    kiln.api.run(
        "export",
        [f"ckpt_path={penguins_ckpt}", f"out={out}", f"paths.root={out.parent}", "format=torch"],
    )
    return out


@pytest.fixture(autouse=True)
def no_signing_key(monkeypatch):
    monkeypatch.delenv("KILN_SIGNING_KEY", raising=False)
    monkeypatch.delenv("KILN_SIGNING_KEY_FILE", raising=False)
