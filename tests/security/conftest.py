"""Fixtures for the trust tests: the serving tests' tiny penguins checkpoint, a format=torch
artifact of it, and the payload a hostile file would carry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import kiln.api
from kiln.serving.artifact import METADATA, content_hash
from tests.serving.conftest import penguins_ckpt  # noqa: F401  (a session fixture)


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
