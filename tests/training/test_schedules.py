"""Scheduler step counts: OneCycleLR survives the run lengths a small CV fold gives it."""

import functools

import pytest
import torch
from torch.optim.lr_scheduler import OneCycleLR

from kiln.training.optim import scheduler_steps


def test_one_cycle_with_four_steps_runs_to_the_end():
    fn = functools.partial(OneCycleLR, max_lr=0.1, pct_start=0.25)
    params = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ZeroDivisionError):  # torch's own: warmup ends on step 0
        OneCycleLR(torch.optim.SGD(params, lr=0.1), total_steps=4, max_lr=0.1, pct_start=0.25)
    opt = torch.optim.SGD(params, lr=0.1)
    sched = fn(opt, total_steps=scheduler_steps(fn, 4))
    for _ in range(4):
        opt.step()
        sched.step()
    assert 0 < opt.param_groups[0]["lr"] < 0.1
    assert (
        scheduler_steps(fn, 10) == 10 and scheduler_steps(torch.optim.lr_scheduler.StepLR, 4) == 4
    )
