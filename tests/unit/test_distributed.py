"""Rank from the launcher's environment, the run directory per rank, process counts, fused optimizers."""

import functools
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from kiln import distributed
from kiln.errors import KilnError
from kiln.optim import fused_kwargs

LAUNCH_VARS = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "WORLD_SIZE", "SLURM_NTASKS")


@pytest.fixture
def clean_env(monkeypatch):
    for key in LAUNCH_VARS:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "env,rank",
    [
        ({}, 0),
        ({"RANK": "3", "LOCAL_RANK": "1"}, 3),  # torchrun: the global rank wins
        ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, 1),  # a child Lightning started
        ({"SLURM_PROCID": "2"}, 2),  # srun
        ({"LOCAL_RANK": "0", "SLURM_PROCID": "5"}, 0),  # SLURM_PROCID left over, as Lightning
    ],
)
def test_rank_comes_from_the_launcher(clean_env, env, rank):
    for key, value in env.items():
        clean_env.setenv(key, value)
    assert distributed.process_rank() == rank


def test_only_rank_zero_gets_the_run_directory(clean_env, tmp_path):
    assert distributed.run_dir("runs/train/x") == "runs/train/x"
    clean_env.setenv("RANK", "1")
    clean_env.setenv("TMPDIR", str(tmp_path))
    import tempfile

    clean_env.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    scratch = Path(distributed.run_dir("runs/train/x"))
    assert scratch.parent == tmp_path and scratch.name.startswith("kiln-rank1-")


def test_processes_per_run_and_launcher_mismatch(clean_env):
    cfg = OmegaConf.create({"devices": 2, "num_nodes": 3})
    assert distributed.processes_per_run(cfg) == 6
    assert distributed.processes_per_run(OmegaConf.create({"devices": [0, 1]})) == 2
    clean_env.setenv("RANK", "0")
    clean_env.setenv("WORLD_SIZE", "4")
    with pytest.raises(KilnError, match="trainer.num_nodes"):
        distributed.check_launcher(cfg)
    distributed.check_launcher(OmegaConf.create({"devices": 2, "num_nodes": 2}))


def test_fused_optimizer_only_on_cuda_and_never_over_the_config():
    adamw = functools.partial(torch.optim.AdamW, lr=1e-3)
    assert fused_kwargs(adamw, torch.device("cuda")) == {"fused": True}
    assert fused_kwargs(adamw, torch.device("cpu")) == {}
    assert fused_kwargs(functools.partial(adamw, fused=False), torch.device("cuda")) == {}
    assert fused_kwargs(functools.partial(torch.optim.LBFGS), torch.device("cuda")) == {}


def test_slurm_launcher_config_composes():
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="the SLURM launcher needs kiln[slurm]"
    )
    from hydra.core.hydra_config import HydraConfig

    import kiln.api

    cfg = kiln.api.compose("train", ["hydra/launcher=slurm_ddp", "trainer=ddp"])
    launcher = HydraConfig.get().launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.tasks_per_node == 8
    assert cfg.trainer.strategy.process_group_backend == "nccl"
