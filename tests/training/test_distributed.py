"""Rank from the launcher's environment, the run directory per rank, process counts, fused optimizers."""

import functools
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from kiln.errors import KilnError
from kiln.training import distributed
from kiln.training.optim import fused_kwargs

LAUNCH_VARS = ("RANK", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE")
LAUNCH_VARS += ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_NNODES", "SLURM_JOB_NAME", "SLURM_STEP_ID")


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


def test_slurm_tasks_are_the_ranks_unless_the_job_is_a_shell(clean_env):
    for key, value in {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_NNODES": "1"}.items():
        clean_env.setenv(key, value)
    clean_env.setenv("SLURM_JOB_NAME", "train")
    with pytest.raises(KilnError, match="srun kiln train"):  # the batch script, not a task
        distributed.check_launcher(OmegaConf.create({"devices": 2}))
    clean_env.setenv("SLURM_STEP_ID", "0")  # a task srun started
    clean_env.setenv("SLURM_PROCID", "1")
    assert distributed.launched_externally() and distributed.process_rank() == 1
    with pytest.raises(KilnError, match="--ntasks-per-node=1"):
        distributed.check_launcher(OmegaConf.create({"devices": 1}))
    with pytest.raises(KilnError, match="--nodes=2 --ntasks-per-node=1"):
        distributed.check_launcher(OmegaConf.create({"devices": 1, "num_nodes": 2}))
    distributed.check_launcher(OmegaConf.create({"devices": 2, "num_nodes": 1}))
    # `srun --pty bash`: a shell in an allocation, where Lightning starts the ranks itself
    clean_env.setenv("SLURM_JOB_NAME", "bash")
    clean_env.setenv("SLURM_PROCID", "0")
    clean_env.setenv("SLURM_NTASKS", "1")
    assert not distributed.launched_externally()
    distributed.check_launcher(OmegaConf.create({"devices": 2}))


def test_a_multirun_scratch_tree_is_removed(clean_env, tmp_path):
    import tempfile

    clean_env.setenv("SLURM_PROCID", "1")
    clean_env.setenv("TMPDIR", str(tmp_path))
    clean_env.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    job = Path(distributed.run_dir("runs/train-multirun/x")) / "0"  # <scratch>/<job num>
    (job / ".hydra").mkdir(parents=True)
    distributed.clean_scratch(job)
    assert not list(tmp_path.iterdir())
    kept = tmp_path / "mine" / "0"  # not a scratch dir: left alone
    kept.mkdir(parents=True)
    distributed.clean_scratch(kept)
    assert kept.is_dir()


def test_fused_optimizer_on_cuda_and_cpu_and_never_over_the_config():
    adamw = functools.partial(torch.optim.AdamW, lr=1e-3)
    assert fused_kwargs(adamw, torch.device("cuda")) == {"fused": True}
    assert fused_kwargs(adamw, torch.device("cpu")) == {"fused": True}
    assert fused_kwargs(adamw, torch.device("meta")) == {}
    assert fused_kwargs(functools.partial(adamw, fused=False), torch.device("cuda")) == {}
    assert fused_kwargs(functools.partial(adamw, foreach=True), torch.device("cpu")) == {}
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
    # the CPU launcher asks for one task per process: trainer.devices x trainer.num_nodes
    kiln.api.compose(
        "train", ["hydra/launcher=slurm_cpu", "trainer=ddp_cpu", "trainer.num_nodes=2"]
    )
    launcher = HydraConfig.get().launcher
    assert (launcher.tasks_per_node, launcher.nodes, launcher.gpus_per_node) == (2, 2, None)
    kiln.api.compose("train", ["hydra/launcher=slurm_cpu"])
    assert (HydraConfig.get().launcher.tasks_per_node, HydraConfig.get().launcher.nodes) == (1, 1)
