"""Secrets never reach disk.

A secret typed as an override (``api_key=...``, a password or a token, a database URL with
``user:password@``) would be written by Hydra to ``.hydra/{config,overrides,hydra}.yaml`` and by
kiln to the run's ``config.yaml`` and logs. Instead its value goes into this process's
environment (which the processes it starts inherit: sweep workers, DDP ranks) and the override
becomes ``key=${oc.env:KILN_SECRET_<KEY>}``: every file holds the reference, and the task, which
resolves the config, still gets the value. Better still is not to type it at all:
``KILN_API_KEY`` (conf/serve.yaml reads it) or a key file read into that variable.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

SECRET_NAME = re.compile(r"(^|_)(api_?key|password|passwd|secret|token)$", re.IGNORECASE)
NOT_A_VALUE = {"", "null", "none", "~"}


def url_password(value: str) -> str | None:
    """The password of a URL such as postgresql://user:password@host/db, else None."""
    if "://" not in value:
        return None
    try:
        return urlsplit(value).password
    except ValueError:
        return None


def redact(text: str, url: str | None) -> str:
    """``text`` with the password of ``url`` replaced by ***, for logs and messages."""
    password = url_password(url) if url else None
    if not password:
        return text
    text = text.replace(f":{password}@", ":***@")
    return text.replace(password, "***") if len(password) >= 6 else text  # a driver's own echo


def is_secret(key: str, value: str) -> bool:
    name = key.lstrip("+").rsplit(".", 1)[-1]
    return bool(SECRET_NAME.search(name)) or url_password(value) is not None


def env_name(key: str) -> str:
    return "KILN_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", key.lstrip("+")).upper()


def hide_secrets(overrides: list[str]) -> list[str]:
    """The overrides with each secret value moved into the environment (see the module's
    docstring); flags, deletions, interpolations and null values pass unchanged."""
    out = []
    for arg in overrides:
        key, eq, value = arg.partition("=")
        raw = _unquote(value)
        if (
            not eq
            or arg.startswith(("-", "~"))
            or raw.lower() in NOT_A_VALUE
            or raw.startswith("${")
            or not is_secret(key, raw)
        ):
            out.append(arg)
            continue
        os.environ[env_name(key)] = raw
        out.append(f"{key}=${{oc.env:{env_name(key)}}}")
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
