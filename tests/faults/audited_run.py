"""`python tests/faults/audited_run.py <log.jsonl> <kill-on> <kiln args...>`: kiln's CLI with an
audit hook (sys.addaudithook) that records every file opened for writing and every rename, and
SIGKILLs the process, as a power cut or the OOM killer would, at the ``kill-on``-th rename whose
destination ends with the given name (``2:last.ckpt``: the second epoch's last.ckpt, at the
moment its data are written and not yet renamed); ``-`` kills nothing."""

import json
import os
import signal
import sys

log_path, kill_on, *args = sys.argv[1:]
count, _, name = kill_on.partition(":")
seen = {"renames": 0}
log = open(log_path, "a", buffering=1)  # noqa: SIM115 (open for the life of the process)


def hook(event, a):
    if event == "open" and a[0] is not None and isinstance(a[0], str | bytes):
        mode, flags = a[1], a[2]
        writes = (mode and any(c in mode for c in "wax+")) or (
            mode is None and flags & (os.O_WRONLY | os.O_RDWR)
        )
        if writes:
            log.write(json.dumps({"open": os.path.abspath(os.fsdecode(a[0]))}) + "\n")
    elif event in ("os.rename", "os.link") and not isinstance(a[0], int):
        src, dst = (os.path.abspath(os.fsdecode(p)) for p in a[:2])
        log.write(json.dumps({event: [src, dst]}) + "\n")
        if name and dst.endswith(os.sep + name):
            seen["renames"] += 1
            if seen["renames"] == int(count):
                os.kill(os.getpid(), signal.SIGKILL)


sys.addaudithook(hook)
from kiln.cli import main  # noqa: E402

sys.argv = ["kiln", *args]
main()
