"""Lightning callbacks kiln adds: plain progress lines, a test-time report, a planned stop."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from typing_extensions import override

from kiln.files import atomic as atomic_files
from kiln.training.metrics import to_python

log = logging.getLogger("kiln")


class PlainProgress(L.Callback):
    """One log line per epoch when no terminal is attached (CI, nohup, a scheduler's log).

    The line for epoch k is written when epoch k+1 starts (or training ends): only then have
    the module's own epoch-end hooks logged every train and val metric of epoch k.
    """

    def _line(self, trainer: L.Trainer, epoch: int) -> None:
        if not trainer.is_global_zero:
            return
        skip = ("train/loss", "train/lr")  # per-step values; the epoch means are shown instead
        metrics = to_python(
            {k: v for k, v in trainer.callback_metrics.items() if "/" in k and k not in skip}
        )
        shown = "  ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
        log.info("epoch %d/%d  %s", epoch + 1, trainer.max_epochs, shown)

    @override
    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if (
            trainer.current_epoch > 0
            and not getattr(self, "_resumed_at", None) == trainer.current_epoch
        ):
            self._line(trainer, trainer.current_epoch - 1)

    @override
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._resumed_at = trainer.current_epoch  # nothing was trained yet in this process

    @override
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._line(trainer, trainer.current_epoch - 1 if trainer.current_epoch > 0 else 0)


class StopAfter(L.Callback):
    """Stop training cleanly after ``epochs`` epochs, as if the job had been interrupted.

    For a planned stop (a time slot on a shared machine) that ``kiln train ckpt_path=last.ckpt``
    resumes; the schedule still spans ``trainer.max_epochs``.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = int(epochs)

    @override
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


class ConfusionMatrixImage(L.Callback):
    """At the end of testing, the confusion matrix as a TensorBoard image and a PNG in the run dir."""

    @override
    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        confusion = getattr(pl_module, "confusion", None)
        if confusion is None or confusion.update_count == 0:
            return
        matrix = confusion.compute().cpu().numpy()  # every rank: compute() syncs across ranks
        confusion.reset()
        if not trainer.is_global_zero:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = pl_module.spec.class_names or [str(i) for i in range(len(matrix))]
        fig, ax = plt.subplots(figsize=(1 + 0.5 * len(names), 1 + 0.5 * len(names)))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(names)), names, rotation=90)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7)
        fig.tight_layout()
        if trainer.default_root_dir:
            path = Path(trainer.default_root_dir) / "confusion_matrix.png"
            atomic_files.save_figure(fig, path, dpi=100)
        for logger in trainer.loggers:
            if hasattr(logger.experiment, "add_figure"):
                logger.experiment.add_figure(
                    "test/confusion_matrix", fig, global_step=trainer.global_step
                )
        plt.close(fig)
