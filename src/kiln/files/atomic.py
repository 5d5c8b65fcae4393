"""Every file kiln keeps goes to a temporary name beside it, is fsynced, then renamed into place.

A kill or a full disk mid-write leaves the previous version, never a truncated file; the
temporary name lies in the destination folder, so the rename never crosses a filesystem (where
a "move" is truncate-then-copy). Temporary names carry the writer's pid and host, so the next
run can tell a dead run's leftover (removed by kiln.files.leftovers) from a live run's (left alone).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from kiln.errors import KilnError

PARTIAL = ".partial-"
REASONS = {  # errno: (what happened, what frees the way)
    errno.ENOSPC: ("the disk is full", "free space on {folder}"),
    errno.EDQUOT: ("the disk quota is used up", "free space within your quota on {folder}"),
    errno.EFBIG: ("the file would pass this process's file-size limit", "raise it (ulimit -f)"),
    errno.EIO: ("the disk reported an I/O error", "check the disk under {folder}"),
}


HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:40] or "host"


def partial_name(path: Path) -> Path:
    """``.<name>.partial-<pid>-<random>-<host>`` beside ``path`` (kiln.files.leftovers reads it)."""
    return path.with_name(f".{path.name}{PARTIAL}{os.getpid()}-{secrets.token_hex(4)}-{HOST}")


def write_failed(err: OSError, path: Path, existed: bool, fix: str) -> KilnError:
    """One sentence for a write the disk refused (``err.errno`` in REASONS): which file, why,
    what was kept, the fix."""
    reason, remedy = REASONS[err.errno]
    kept = "its previous version is kept" if existed else "no partial file was left"
    return KilnError(
        f"{path} could not be written: {reason} ({os.strerror(err.errno)}); {kept}, so "
        f"{remedy.format(folder=path.parent)} and {fix}."
    )


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a crash after it keeps the new name)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, path: Path, exclusive: bool = False) -> None:
    """Rename a fully written ``tmp`` (file or folder) to ``path``; ``exclusive`` refuses to
    replace an existing file (a hard link fails if one appeared meanwhile)."""
    if tmp.is_dir():
        for f in (p for p in tmp.rglob("*") if p.is_file()):
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        os.rename(tmp, path)  # fails when path exists (a non-empty folder or a file)
    elif exclusive:
        os.link(tmp, path)
        tmp.unlink()
    else:
        os.replace(tmp, path)
    fsync_dir(path.parent)


@contextlib.contextmanager
def disk_errors(path: Path, fix: str = "run the command again") -> Iterator[None]:
    """A full disk (or quota, file-size limit, I/O error) while writing ``path``: a KilnError."""
    existed = Path(path).exists()
    try:
        yield
    except OSError as err:
        if err.errno in REASONS:
            raise write_failed(err, Path(path), existed, fix) from None
        raise


@contextlib.contextmanager
def replacing(
    path: str | Path,
    fix: str = "run the command again",
    exclusive: bool = False,
    mode: str = "wb",
    **open_kw,
) -> Iterator:
    """``with replacing(path) as f: f.write(...)``: the file appears whole at ``path`` or not
    at all; a full disk is a KilnError naming the file and ``fix``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(path)
    try:
        with disk_errors(path, fix):
            with open(tmp, mode.replace("w", "x"), **open_kw) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            commit(tmp, path, exclusive)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data, **kw) -> None:
    with replacing(path, **kw) as f:
        f.write(data)


def write_text(path: str | Path, text: str, **kw) -> None:
    write_bytes(path, text.encode(), **kw)


def save_figure(fig, path: str | Path, **kw) -> None:
    """A matplotlib figure, in the format its file name says (``.png``)."""
    with replacing(path) as f:
        fig.savefig(f, format=Path(path).suffix.lstrip("."), **kw)


def write_json(path: str | Path, payload, exclusive: bool = True, **kw) -> None:
    """JSON (sorted, indented); by default never over a file that exists."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=kw.pop("default", None)) + "\n"
    write_bytes(path, text.encode(), exclusive=exclusive, **kw)


def write_with(path: str | Path, writer: Callable[[Path], None], **kw) -> None:
    """For a library that writes a file by name (``writer(tmp_path)``): same guarantees."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(path)
    try:
        with disk_errors(path, kw.get("fix", "run the command again")):
            writer(tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            commit(tmp, path, kw.get("exclusive", False))
    finally:
        tmp.unlink(missing_ok=True)
