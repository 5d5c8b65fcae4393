"""The partial files a killed kiln run left beside its output: the next run in that folder
removes a dead process's (same host, pid gone) and names the others in its output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kiln.files.atomic import HOST, PARTIAL


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_partials(folder: str | Path) -> list[str]:
    """Remove the ``.*.partial-<pid>-<random>-<host>`` files and folders that a dead process of
    this host left in ``folder``; name the rest (a live writer's, another host's on a shared
    filesystem, an older kiln's). Returns one line per leftover, for the command's output."""
    folder = Path(folder)
    lines: list[str] = []
    if not folder.is_dir():
        return lines
    for p in sorted(folder.glob(f".*{PARTIAL}*")):
        pid, _, rest = p.name.rsplit(PARTIAL, 1)[1].partition("-")
        host = rest.partition("-")[2]
        if not pid.isdigit() or not host:
            lines.append(f"found {p}, the leftover of an interrupted run; delete it")
        elif host != HOST:
            lines.append(f"left {p}: written on {host}; delete it once that run is over")
        elif int(pid) == os.getpid():
            continue
        elif _alive(int(pid)):
            lines.append(f"left {p}: process {pid} that writes it is still running")
        else:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            lines.append(f"removed {p}, the leftover of an interrupted run (process {pid})")
    return lines
