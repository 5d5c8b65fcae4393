"""Ways to run out of disk for real inside a kiln run, as test-only callbacks (loaded by a
``+callbacks.<name>._target_=tests.faults.disk.<Class>`` override in a `kiln train` subprocess)."""

from __future__ import annotations

import errno
import os
import resource
import signal
from pathlib import Path

import lightning as L


class FileSizeLimit(L.Callback):
    """From epoch ``epoch`` on, this process may not write a file past ``max_bytes``: the
    kernel answers EFBIG (SIGXFSZ ignored), as on a quota- or ulimit-limited machine."""

    def __init__(self, epoch: int, max_bytes: int) -> None:
        self.epoch, self.max_bytes = int(epoch), int(max_bytes)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.max_bytes, resource.RLIM_INFINITY))


class FillDisk(L.Callback):
    """At the start of epoch ``epoch``, fill the filesystem that holds ``path`` (a small tmpfs
    in the test) with one file of zeros there until the kernel answers ENOSPC."""

    def __init__(self, epoch: int, path: str) -> None:
        self.epoch, self.path = int(epoch), Path(path)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch != self.epoch:
            return
        path = self.path
        block = b"\0" * 65536
        with open(path, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(block)
            except OSError as err:
                assert err.errno == errno.ENOSPC, err
            try:  # the last partial page too
                while True:
                    f.write(b"\0" * 512)
            except OSError:
                pass
        os.sync()
