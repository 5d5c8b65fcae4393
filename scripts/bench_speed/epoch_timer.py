"""A Lightning callback both sides of scripts/bench_tables_speed.py load: the same clock.

It appends one JSON line per training epoch (wall seconds from the epoch's start to its end,
validation included, and the sum of the training steps alone) to $BENCH_EPOCH_LOG. It imports
``lightning`` or ``pytorch_lightning``, whichever the process has (pytorch_tabular uses the latter).
"""

from __future__ import annotations

import json
import os
import time

try:
    from lightning.pytorch import Callback
except ImportError:  # pytorch_tabular's environment
    from pytorch_lightning import Callback


class EpochTimer(Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.start, self.steps = time.perf_counter(), 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.step_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps += time.perf_counter() - self.step_start

    def on_train_epoch_end(self, trainer, pl_module):
        line = {"epoch_s": time.perf_counter() - self.start, "steps_s": self.steps}
        with open(os.environ["BENCH_EPOCH_LOG"], "a") as f:
            f.write(json.dumps(line) + "\n")
