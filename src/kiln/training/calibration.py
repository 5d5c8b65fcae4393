"""Temperature scaling: after training, one T > 0 fitted on the validation split so that the
classifier's probabilities (softmax/sigmoid of logits / T) can be trusted.

T minimises the validation negative log-likelihood (a bounded 1-D search on log T, scipy's
``minimize_scalar``); it lives in the model as one buffer (kiln.models.pipeline.Temperature), so
the checkpoint, ``kiln eval``, ``kiln predict``, ``kiln serve`` and the ONNX graph all apply it.
``calibrate: auto`` keeps T only where it lowers the validation NLL, ``true`` always keeps it,
``false`` leaves T = 1. The validation NLL and ECE before and after go to metrics.json. A
binary cut chosen on validation (data.threshold=auto) is chosen again on the calibrated
probabilities, so it keeps meaning what it meant.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import Tensor
from torchmetrics.functional.classification import (
    binary_calibration_error,
    multiclass_calibration_error,
)

from kiln.data.loader import TensorBatchLoader
from kiln.errors import KilnError
from kiln.training.checkpoint_io import AtomicCheckpointIO
from kiln.training.checkpoints import pack, read_checkpoint
from kiln.training.threshold import balanced_accuracy_cut

log = logging.getLogger("kiln")

BOUNDS = (0.05, 20.0)  # the temperatures searched; 1 (no change) lies inside
SETTINGS = ("auto", True, False)
ECE_BINS = 15


def nll(z: Tensor, y: Tensor, task: str, temperature: float) -> float:
    """Mean negative log-likelihood of the labels under logits / T (float64, unweighted)."""
    z = z.double() / temperature
    if task == "binary":
        return float(F.binary_cross_entropy_with_logits(z, y.double()))
    return float(F.cross_entropy(z, y.long()))


def ece(z: Tensor, y: Tensor, task: str, temperature: float) -> float:
    """Expected calibration error (L1, 15 equal-width bins) of the probabilities at T."""
    z = z.float() / temperature
    if task == "binary":
        return float(binary_calibration_error(z.sigmoid(), y.long(), n_bins=ECE_BINS))
    probs = z.softmax(-1)
    return float(multiclass_calibration_error(probs, y.long(), probs.shape[-1], n_bins=ECE_BINS))


def fit_temperature(z: Tensor, y: Tensor, task: str) -> float:
    """The T in BOUNDS that minimises the NLL of logits / T (searched on log T)."""
    lo, hi = (math.log(b) for b in BOUNDS)
    found = minimize_scalar(
        lambda s: nll(z, y, task, math.exp(s)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-7},
    )
    return math.exp(float(found.x))


@torch.inference_mode()
def validation_logits(module, loader) -> tuple[Tensor, Tensor]:
    """The module's logits (at its current temperature) and the labels of every batch."""
    module.eval()
    zs, ys = [], []
    for batch in loader:
        x, y = module.split_batch(tuple(t.to(module.device) for t in batch))
        zs.append(module.raw_output(x).float().cpu())
        ys.append(y.cpu())
    if not zs:
        return torch.empty(0), torch.empty(0)
    return torch.cat(zs), torch.cat(ys)


def check_calibration(setting, spec) -> None:
    """KilnError before training for calibrate=true on a model without a temperature to fit
    (multilabel: each label's probability stays as trained; docs/tables.md)."""
    if setting is True and spec.task == "multilabel":
        raise KilnError(
            "calibrate=true fits a temperature to a classifier's class probabilities, and a "
            "multilabel model keeps each label's probability as trained; set calibrate=auto or false."
        )


def calibrate(module, loader, setting="auto") -> dict[str, float]:
    """Fit the module's temperature on ``loader`` (the validation split) and set it; returns the
    report for metrics.json (empty for a task without a temperature: regression, forecast)."""
    if setting not in SETTINGS:
        raise KilnError(
            f"calibrate={setting!r} is not auto, true or false; set e.g. calibrate=auto."
        )
    if module.temperature is None:
        return {}
    module.temperature.value.fill_(1.0)  # fitted on the network's own logits, never on top
    z, y = validation_logits(module, loader)
    if len(y) == 0:
        if setting is True:
            raise KilnError(
                "calibrate=true needs validation rows and the validation split is empty; give the data a validation split or set calibrate=auto."
            )
        return {"calibration/temperature": 1.0}
    task = module.spec.task
    before = nll(z, y, task, 1.0)
    t = 1.0 if setting is False else fit_temperature(z, y, task)
    if setting == "auto" and not nll(z, y, task, t) < before - 1e-6:
        t = 1.0  # auto: kept only where it lowers the validation NLL
    module.temperature.value.fill_(t)
    if getattr(module, "val_scores", None) is not None:  # data.threshold=auto: the cut again,
        cut = balanced_accuracy_cut((z / t).sigmoid().numpy(), y.numpy())  # on these probabilities
        if cut is not None:
            module.decision.value.fill_(cut)
    return {
        "calibration/temperature": t,
        "calibration/val_nll_before": before,
        "calibration/val_nll_after": nll(z, y, task, t),
        "calibration/val_ece_before": ece(z, y, task, 1.0),
        "calibration/val_ece_after": ece(z, y, task, t),
    }


def calibrate_best(trainer, module, datamodule, best_path: str, setting="auto") -> dict:
    """Load the best checkpoint's weights, fit T on the validation split, and re-write the best
    checkpoint (renamed into place) holding T, so ``trainer.test`` and every later reader use it."""
    if module.temperature is None:
        return {}
    if best_path:
        ckpt = read_checkpoint(best_path)
        module.load_state_dict(ckpt["state_dict"], strict=True)
    report = calibrate(module, whole_validation(datamodule), setting)
    if best_path and trainer.is_global_zero:
        state = module.state_dict()
        for key in ("temperature.value", "decision.value"):  # what calibration set
            if key in state:
                ckpt["state_dict"][key] = state[key].detach().cpu().clone()
        if ckpt["kiln"].get("profile") is not None:  # read unpacked: store it compact again
            ckpt["kiln"]["profile"] = pack(ckpt["kiln"]["profile"])
        AtomicCheckpointIO().save_checkpoint(ckpt, best_path)
    trainer.strategy.barrier("kiln-calibration")  # every rank tests the re-written checkpoint
    if "calibration/val_nll_before" in report:
        log.info(
            "calibration: temperature %.4g; validation NLL %.4f -> %.4f, ECE %.4f -> %.4f",
            *(
                report[f"calibration/{k}"]
                for k in ("temperature", "val_nll_before", "val_nll_after")
            ),
            report["calibration/val_ece_before"],
            report["calibration/val_ece_after"],
        )
    return report


def whole_validation(datamodule):
    """Every validation row on every rank (under DDP the validation loader holds one rank's
    shard: each rank would fit its own T), else the data module's own validation loader."""
    splits = getattr(datamodule, "splits", None)
    if not splits or "val" not in splits:
        return datamodule.val_dataloader()
    batch = getattr(datamodule, "eval_batch_size", 256)
    return TensorBatchLoader(splits["val"], batch_size=batch, shuffle=False, drop_last=False)
