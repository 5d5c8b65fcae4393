"""kiln steps the optimizer itself (kiln.training.stepping): the weights it ends with must equal those
of a hand-written PyTorch loop doing accumulation, clipping and the schedule by the book."""

from __future__ import annotations

import copy
import functools

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kiln.data.loader import TensorBatchLoader
from kiln.data.spec import InputSpec
from kiln.training.module import KilnModule
from kiln.training.optim import warmup_cosine

ROWS, BATCH, EPOCHS = 200, 20, 3  # 10 batches an epoch: accumulation by 3 leaves a partial group


def data(seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(ROWS, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return x, y


def network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


SGD = functools.partial(torch.optim.SGD, lr=0.2, momentum=0.9)
SCHEDULES = {
    "none": None,
    "step": {"fn": functools.partial(warmup_cosine, warmup_steps=3), "interval": "step"},
    "epoch": {
        "fn": functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5),
        "interval": "epoch",
    },
    "plateau": {
        # mode max on a falling loss: every epoch is "no better", so the rate must drop
        "fn": functools.partial(torch.optim.lr_scheduler.ReduceLROnPlateau, mode="max", patience=0),
        "interval": "epoch",
    },
}


def kiln_weights(schedule: str, accumulate: int, clip: float | None, algorithm: str, **trainer_kw):
    spec = InputSpec(kind="tabular", shape=(6,), task="multiclass", num_outputs=3, dataset="toy")
    module = KilnModule(
        network(),
        spec,
        optimizer=SGD,
        scheduler=SCHEDULES[schedule],
        monitor={"metric": "val/loss", "mode": "min"},
        gradient_clip_val=clip,
        gradient_clip_algorithm=algorithm,
        accumulate_grad_batches=accumulate,
    )
    trainer = L.Trainer(
        **{"max_epochs": EPOCHS, **trainer_kw},
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
    )
    trainer.fit(
        module,
        train_dataloaders=TensorBatchLoader(data(1), BATCH),
        val_dataloaders=TensorBatchLoader(data(2), 50),
    )
    return module.network.state_dict(), module.optimizers().param_groups[0]["lr"]


def hand_weights(schedule: str, accumulate: int, clip: float | None, algorithm: str):
    net = network()
    opt = SGD(net.parameters())
    batches = list(TensorBatchLoader(data(1), BATCH))
    steps_per_epoch = -(-len(batches) // accumulate)
    sched = None
    if schedule == "step":
        sched = warmup_cosine(opt, total_steps=EPOCHS * steps_per_epoch, warmup_steps=3)
    elif schedule == "epoch":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    elif schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0)
    for _ in range(EPOCHS):
        for i, (x, y) in enumerate(batches):
            (F.cross_entropy(net(x), y) / accumulate).backward()
            if (i + 1) % accumulate and i + 1 != len(batches):
                continue
            if clip and algorithm == "norm":
                nn.utils.clip_grad_norm_(net.parameters(), clip)
            elif clip:
                nn.utils.clip_grad_value_(net.parameters(), clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if schedule == "step":
                sched.step()
        if schedule == "plateau":
            with torch.no_grad():
                xv, yv = data(2)
                sched.step(float(F.cross_entropy(net(xv), yv)))
        elif schedule == "epoch":
            sched.step()
    return net.state_dict(), opt.param_groups[0]["lr"]


@pytest.mark.parametrize(
    "schedule, accumulate, clip, algorithm",
    [
        ("none", 1, None, "norm"),
        ("none", 3, 0.05, "norm"),
        ("epoch", 1, 0.01, "value"),
        ("step", 3, None, "norm"),
        ("plateau", 2, 0.5, "norm"),
    ],
)
def test_kiln_steps_like_a_hand_written_loop(schedule, accumulate, clip, algorithm):
    got, got_lr = kiln_weights(schedule, accumulate, clip, algorithm)
    want, want_lr = hand_weights(schedule, accumulate, clip, algorithm)
    assert got_lr == pytest.approx(want_lr, rel=1e-12)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6)


def test_a_validation_inside_an_accumulation_group_keeps_its_gradients():
    """val_check_interval=0.5 validates after batch 5 of 10, inside a group of 3."""
    got, _ = kiln_weights("none", 3, None, "norm", val_check_interval=0.5)
    want, _ = hand_weights("none", 3, None, "norm")
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6)


def test_an_epoch_cut_short_by_max_steps_does_not_step_the_epoch_schedule():
    _, lr = kiln_weights("epoch", 1, None, "norm", max_steps=15)  # epochs of 10 batches
    assert lr == pytest.approx(SGD.keywords["lr"] * 0.5)  # one whole epoch, one halving


def test_one_cycle_plans_its_steps_from_max_steps_when_epochs_are_unbounded():
    SCHEDULES["onecycle"] = {
        "fn": functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.2),
        "interval": "step",
    }
    try:  # 10 batches an epoch, 2 per step: 12 steps span 3 epochs
        kiln_weights("onecycle", 2, None, "norm", max_epochs=-1, max_steps=12)
    finally:
        del SCHEDULES["onecycle"]


def test_a_schedule_interval_other_than_step_or_epoch_is_one_sentence():
    from kiln.errors import KilnError

    SCHEDULES["typo"] = {"fn": SCHEDULES["epoch"]["fn"], "interval": "epochs"}
    try:
        with pytest.raises(KilnError, match="scheduler.interval='epochs' must be step or epoch"):
            kiln_weights("typo", 1, None, "norm")
    finally:
        del SCHEDULES["typo"]


def test_a_checkpoint_of_automatic_optimisation_resumes_its_step_count():
    from kiln.training.stepping import adopt_automatic_progress

    counts = {"total": {"ready": 231, "completed": 231}, "current": {"ready": 7, "completed": 7}}
    loops = {
        "epoch_loop.automatic_optimization.optim_progress": {"optimizer": {"step": counts}},
        "epoch_loop.manual_optimization.optim_step_progress": {
            "total": {"ready": 0, "completed": 0},
            "current": {"ready": 0, "completed": 0},
        },
    }
    ckpt = {"loops": {"fit_loop": loops}}
    adopt_automatic_progress(ckpt)
    assert loops["epoch_loop.manual_optimization.optim_step_progress"] == counts


def test_clipping_changes_the_result():
    """The oracle above would pass if neither side clipped: clipping must make a difference."""
    clipped, _ = kiln_weights("none", 1, 0.01, "value")
    free, _ = kiln_weights("none", 1, None, "norm")
    assert not torch.allclose(clipped["0.weight"], free["0.weight"], atol=1e-3)


def test_plateau_schedule_lowered_the_rate():
    _, lr = kiln_weights("plateau", 2, 0.5, "norm")
    assert lr < SGD.keywords["lr"]


def test_bad_accumulation_is_one_sentence():
    from kiln.errors import KilnError

    spec = InputSpec(kind="tabular", shape=(6,), task="multiclass", num_outputs=3, dataset="toy")
    with pytest.raises(
        KilnError, match="accumulate_grad_batches=0 must be a whole number, at least 1"
    ):
        KilnModule(copy.deepcopy(network()), spec, optimizer=SGD, accumulate_grad_batches=0)
