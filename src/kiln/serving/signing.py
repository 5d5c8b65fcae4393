"""Optional keyed signature of an artifact: HMAC-SHA256 over the exact bytes of metadata.json.

The sha256 of each file sits in metadata.json beside the files, so anyone who can write the
artifact can recompute them: they catch accidents only. With ``KILN_SIGNING_KEY`` (or
``KILN_SIGNING_KEY_FILE``) set, ``kiln export`` writes signature.json, and loading refuses an
artifact whose metadata.json (and so, through its hashes, any file) was changed without the key.
The key is read from the environment only and never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from kiln.errors import KilnError

SIGNATURE = "signature.json"
ENV_KEY = "KILN_SIGNING_KEY"
ENV_KEY_FILE = "KILN_SIGNING_KEY_FILE"
ALGORITHM = "HMAC-SHA256"
MIN_KEY_BYTES = 16
NEW_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"


def signing_key() -> bytes | None:
    """The key from KILN_SIGNING_KEY or the file KILN_SIGNING_KEY_FILE names; None if neither."""
    value, file = os.environ.get(ENV_KEY), os.environ.get(ENV_KEY_FILE)
    if value is not None and file is not None:
        raise KilnError(f"Both {ENV_KEY} and {ENV_KEY_FILE} are set; unset one of them.")
    if file is not None:
        try:
            key = Path(file).read_bytes().strip()  # the newline an editor or echo leaves
        except OSError as err:
            raise KilnError(
                f"{ENV_KEY_FILE}={file} cannot be read ({err.strerror}); point it at a readable file that holds the key."
            ) from None
        source = f"The file {ENV_KEY_FILE} names"
    elif value is not None:
        key, source = value.encode(), ENV_KEY
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise KilnError(
            f"{source} holds a signing key of {len(key)} bytes, under {MIN_KEY_BYTES}; use a random key, e.g. from {NEW_KEY}."
        )
    return key


def sign(body: bytes, key: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_document(body: bytes, key: bytes) -> str:
    """The text of signature.json for metadata.json's bytes ``body`` (the key is not in it)."""
    doc = {"algorithm": ALGORITHM, "signs": "metadata.json", "hmac": sign(body, key)}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def check_signature(directory: Path, body: bytes, key: bytes) -> None:
    """Refuse, in one sentence, an artifact that is unsigned or whose signature does not match."""
    path = directory / SIGNATURE
    if not path.is_file():
        raise KilnError(
            f"{directory} is not signed (no {SIGNATURE}) and {ENV_KEY} is set, so it is refused; export it again with the key set to sign it."
        )
    try:
        doc = json.loads(path.read_text())
        given = doc["hmac"] if doc.get("algorithm") == ALGORITHM else None
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        given = None
    ok = isinstance(given, str) and given.isascii()
    if not ok or not hmac.compare_digest(given, sign(body, key)):
        raise KilnError(
            f"{path} does not match metadata.json under this signing key (the artifact was changed after signing, or signed with another key); export it again with the right key set."
        )
