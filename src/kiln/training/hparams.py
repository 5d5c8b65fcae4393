"""TensorBoard extras: the HParams tab entry with a run's final metrics."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.tensorboard.summary import hparams

from kiln.training.lightning_private import tensorboard_file_writer


def log_hparams(trainer: L.Trainer, params: dict[str, object], metrics: dict[str, float]) -> None:
    """Write the hparams summary so TensorBoard's HParams tab lists this run.

    The metric values themselves are the scalars already logged under the same tags; the
    summary names them so the tab shows them beside the hyper-parameters.
    """
    for logger in trainer.loggers:
        if not isinstance(logger, TensorBoardLogger):
            continue
        exp, ssi, sei = hparams(params, metrics)
        writer = tensorboard_file_writer(logger.experiment)
        for summary in (exp, ssi, sei):
            writer.add_summary(summary)
        logger.experiment.flush()
