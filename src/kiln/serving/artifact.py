"""The artifact directory: model.onnx, weights.safetensors and metadata.json, with a content hash.

Files are hashed (sha256) at export; loading re-hashes them, so an artifact that was changed
or half-copied is refused instead of serving wrong answers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kiln.errors import KilnError

METADATA = "metadata.json"
ONNX = "model.onnx"
WEIGHTS = "weights.safetensors"
FORMAT_VERSION = 1


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(meta: dict) -> str:
    """sha256 over the canonical JSON of the metadata (which lists every file's sha256)."""
    body = {k: v for k, v in meta.items() if k != "content_hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def finalize(directory: Path, meta: dict) -> dict:
    """Hash the files written so far into ``meta`` and write metadata.json (never over a file)."""
    meta = dict(meta)
    meta["files"] = {
        p.name: file_sha256(p) for p in sorted(directory.iterdir()) if p.name != METADATA
    }
    meta["content_hash"] = content_hash(meta)
    with open(directory / METADATA, "x") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    return meta


def read_metadata(directory: str | Path, verify: bool = True) -> dict:
    """metadata.json of an artifact, checked against the files beside it."""
    d = Path(directory)
    path = d / METADATA
    if not path.is_file():
        raise KilnError(
            f"{d} is not a kiln artifact (no {METADATA}); pass a directory written by kiln export."
        )
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KilnError(f"{path} is not valid JSON; export the artifact again.") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise KilnError(
            f"{path} is not a kiln artifact of format {FORMAT_VERSION}; export it again with this kiln."
        )
    if verify:
        for name, digest in meta.get("files", {}).items():
            f = d / name
            if not f.is_file():
                raise KilnError(f"Artifact file {f} is missing; copy the whole artifact directory.")
            if file_sha256(f) != digest:
                raise KilnError(
                    f"Artifact file {f} does not match its hash in {METADATA}; it was changed after export, so export it again."
                )
        if content_hash(meta) != meta.get("content_hash"):
            raise KilnError(
                f"{path} was edited after export (content hash differs); export the artifact again."
            )
    inputs = meta.get("inputs") or {}
    if inputs.get("kind") == "schema" and meta.get("profile"):
        from kiln.monitoring.features import restore_order

        restore_order(meta["profile"], inputs.get("schema"))
    return meta
