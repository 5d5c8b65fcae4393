"""Files edited as someone without kiln would edit them: a stored config given a hostile node,
an artifact's metadata changed and its hashes recomputed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch

from kiln.serving.artifact import METADATA, content_hash


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


def one_sentence(message: str) -> bool:
    """One line, one full stop at the end, and a fix (export again, copy, remove)."""
    return (
        "\n" not in message
        and message.endswith(".")
        and ". " not in message
        and any(fix in message for fix in ("export", "copy", "remove"))
    )


def copy_of(artifact, tmp_path, name="copy"):
    dst = tmp_path / name
    shutil.copytree(artifact, dst)
    return dst


def rewrite(artifact, change) -> None:
    """Edit metadata.json as someone without kiln would: change it, recompute the content hash."""
    meta = json.loads((artifact / METADATA).read_text())
    change(meta)
    meta["content_hash"] = content_hash(meta)
    (artifact / METADATA).write_text(json.dumps(meta, indent=2))


def rehash(artifact, name) -> None:
    """Recompute one file's sha256 in the list (the attack the issue describes)."""
    digest = hashlib.sha256((artifact / name).read_bytes()).hexdigest()
    rewrite(artifact, lambda m: m["files"].__setitem__(name, digest))
