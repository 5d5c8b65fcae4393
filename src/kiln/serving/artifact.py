"""The artifact directory: model.onnx, weights.safetensors and metadata.json, with a content hash.

Files are hashed (sha256) at export, and the list must name every file in the directory; loading
re-hashes them, so an artifact that was changed, half-copied or added to is refused instead of
serving wrong answers. The hashes sit, unkeyed, in the metadata.json they protect: they catch
accidents, not a deliberate edit. For that, kiln.serving.signing signs metadata.json with a key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kiln.errors import KilnError
from kiln.serving.signing import SIGNATURE, check_signature, signature_document, signing_key

METADATA = "metadata.json"
ONNX = "model.onnx"
WEIGHTS = "weights.safetensors"
FORMAT_VERSION = 1
UNLISTED = (METADATA, SIGNATURE)  # metadata.json cannot list itself; the signature signs it
READS = {"onnx": (ONNX, WEIGHTS), "torch": (WEIGHTS,)}  # what each format's loader needs


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
    """Hash the files written so far into ``meta`` and write metadata.json (never over a file),
    and signature.json when a signing key is set."""
    key = signing_key()  # a bad key is refused before anything is written
    meta = dict(meta)
    meta["files"] = {
        p.name: file_sha256(p) for p in sorted(directory.iterdir()) if p.name not in UNLISTED
    }
    meta["content_hash"] = content_hash(meta)
    body = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
    with open(directory / METADATA, "xb") as f:
        f.write(body)
    if key is not None:
        with open(directory / SIGNATURE, "x") as f:
            f.write(signature_document(body, key))
    return meta


def read_metadata(directory: str | Path, verify: bool = True) -> dict:
    """metadata.json of an artifact, checked against the files beside it (and its signature
    when a signing key is set)."""
    d = Path(directory)
    path = d / METADATA
    if not path.is_file():
        raise KilnError(
            f"{d} is not a kiln artifact (no {METADATA}); pass a directory written by kiln export."
        )
    body = path.read_bytes()
    key = signing_key() if verify else None
    if key is not None:  # authenticate the bytes before reading anything from them
        check_signature(d, body, key)
    try:
        meta = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KilnError(f"{path} is not valid JSON; export the artifact again.") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise KilnError(
            f"{path} is not a kiln artifact of format {FORMAT_VERSION}; export it again with this kiln."
        )
    if verify:
        check_files(d, meta)
        if content_hash(meta) != meta.get("content_hash"):
            raise KilnError(
                f"{path} was edited after export (content hash differs); export the artifact again."
            )
    inputs = meta.get("inputs") or {}
    if inputs.get("kind") == "schema" and meta.get("profile"):
        from kiln.monitoring.features import restore_order

        restore_order(meta["profile"], inputs.get("schema"))
    return meta


def model_bytes(d: Path, meta: dict, name: str, verify: bool = True) -> bytes:
    """A file's bytes, read once and checked against its hash, so that the bytes loaded are the
    bytes checked (a file swapped after read_metadata is refused, not run)."""
    data = (d / name).read_bytes()
    if verify and hashlib.sha256(data).hexdigest() != meta["files"].get(name):
        raise KilnError(
            f"Artifact file {d / name} does not match its hash in {METADATA}; it was changed after export, so export it again."
        )
    return data


def check_files(d: Path, meta: dict) -> None:
    """The file list is complete (the loader's files and every file in the directory) and each
    file matches its sha256."""
    path, files = d / METADATA, meta.get("files")
    needed = READS.get(meta.get("format"))
    if needed is None:
        raise KilnError(
            f"{path} names format {meta.get('format')!r}, not onnx or torch; export the artifact again."
        )
    if not isinstance(files, dict) or not files:
        raise KilnError(
            f"{path} lists no files and their hashes, so nothing in the artifact can be checked; export it again."
        )
    for name in needed:
        if name not in files:
            raise KilnError(
                f"{path} does not list {name}, which loading reads, so it cannot be checked; export the artifact again."
            )
    for p in sorted(d.iterdir()):
        if p.name not in files and p.name not in UNLISTED:
            raise KilnError(
                f"{p} is not listed in {METADATA}, so it is not part of the exported artifact; remove it, or export the artifact again."
            )
    for name, digest in files.items():
        f = d / name
        if not f.is_file() or f.parent != d:
            raise KilnError(f"Artifact file {f} is missing; copy the whole artifact directory.")
        if file_sha256(f) != digest:
            raise KilnError(
                f"Artifact file {f} does not match its hash in {METADATA}; it was changed after export, so export it again."
            )
