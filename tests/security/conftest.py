"""Fixtures for the trust tests: the serving tests' tiny penguins checkpoint and artifact
(exported once), a format=torch artifact of it, the payload a hostile file would carry, and no
signing key from the caller's environment: each test sets the one it means."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import kiln.api
from kiln.serving.artifact import METADATA, content_hash
from tests.serving.conftest import penguins_artifact, penguins_ckpt, penguins_rows  # noqa: F401


def payload(marker: Path) -> dict:
    """The issue's node: print a line of Python into a file opened by builtins.open (a .pth file
    in site-packages would run it at Python's next start); here the file is ``marker``."""
    return {
        "_target_": "builtins.print",
        "_args_": [f"import os; open({str(marker) + '.ran'!r}, 'w')"],
        "file": {"_target_": "builtins.open", "_args_": [str(marker), "w"]},
    }


def tampered_checkpoint(src: Path, dst: Path, edit) -> Path:
    """A copy of a real checkpoint whose stored config ``edit(config)`` changed in place."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    edit(ckpt["kiln"]["config"])
    torch.save(ckpt, dst)
    return dst


def tampered_artifact(src: Path, dst: Path, edit) -> Path:
    """A copy of a real artifact with its metadata's config edited and its content hash
    recomputed, as anyone who can write the directory could."""
    shutil.copytree(src, dst)
    meta = json.loads((dst / METADATA).read_text())
    edit(meta["config"])
    meta["content_hash"] = content_hash(meta)
    (dst / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return dst


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
