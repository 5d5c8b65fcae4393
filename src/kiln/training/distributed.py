"""Several processes, one run: which process writes, where the run lives, how ranks are launched.

Lightning does the distributed work (DDP, gloo/NCCL, SLURM and torchrun environments); kiln
only has to keep its own side effects to one process. A rank is known from the environment
before any Trainer exists (Lightning's children, torchrun and SLURM all set it), so the run
directory, the config print and the Hydra log file are settled at config time.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from kiln.config.ranks import (  # re-exported: the rank is known at config time
    _SCRATCH_PREFIX,
    is_rank_zero,
    process_rank,  # noqa: F401
    run_dir,  # noqa: F401
)
from kiln.errors import KilnError

log = logging.getLogger("kiln")


def quiet_other_ranks() -> None:
    """On ranks other than 0: no log file, no info lines, no Python warnings; errors still show."""
    # kiln logs epoch values already reduced across ranks (torchmetrics, strategy.reduce)
    warnings.filterwarnings("ignore", message=".*when logging on epoch level in distributed")
    if is_rank_zero():
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
            handler.close()
        else:  # propagated records skip the root's level but not its handlers' levels
            handler.setLevel(logging.WARNING)
    root.setLevel(logging.WARNING)
    logging.getLogger("kiln").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")


def clean_scratch(output_dir: Path) -> None:
    """Remove a non-zero rank's scratch directory (see ``run_dir``); in a multirun the job
    directory sits below it (``<scratch>/<job num>``), so the whole scratch tree goes."""
    if is_rank_zero():
        return
    tmp = Path(tempfile.gettempdir())
    for path in (output_dir, *output_dir.parents):
        if path.parent == tmp and path.name.startswith(_SCRATCH_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
            return


def slurm_launched() -> bool:
    """True where Lightning takes the ranks from SLURM (SLURM_NTASKS tasks, started by srun).

    As in Lightning, a job named bash or interactive (``srun --pty bash``) is a shell inside an
    allocation: there Lightning starts the ranks itself.
    """
    interactive = os.environ.get("SLURM_JOB_NAME") in ("bash", "interactive")
    return "SLURM_NTASKS" in os.environ and not interactive


def launched_externally() -> bool:
    """True in a process a launcher (torchrun, srun, Lightning for a child rank) started."""
    started = any(os.environ.get(k) is not None for k in ("RANK", "LOCAL_RANK"))
    return started or slurm_launched()


def release(started_children: bool) -> None:
    """End this run's process group, so the next job of a multirun starts its own ranks.

    Lightning leaves the group and its launch variables (LOCAL_RANK, WORLD_SIZE, ...) in the
    process that started the children; the next job would then take itself for a child.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    if started_children:
        for key in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
            os.environ.pop(key, None)


def processes_per_run(trainer_cfg) -> int:
    """Processes a trainer config asks for: devices x num_nodes ('auto' on GPUs: every GPU)."""
    return devices_per_node(trainer_cfg) * num_nodes(trainer_cfg)


def num_nodes(trainer_cfg) -> int:
    return max(1, int(trainer_cfg.get("num_nodes", 1) or 1))


def devices_per_node(trainer_cfg) -> int:
    """trainer.devices as a count: 'auto' is every GPU on GPUs, one device elsewhere."""
    devices = trainer_cfg.get("devices", 1)
    if devices in ("auto", -1, "-1"):
        import torch

        gpu = trainer_cfg.get("accelerator") in ("gpu", "cuda") and torch.cuda.is_available()
        devices = torch.cuda.device_count() if gpu else 1
    elif isinstance(devices, str):
        devices = len([d for d in devices.split(",") if d.strip()]) if "," in devices else 1
    elif not isinstance(devices, int):
        devices = len(devices)
    return max(1, devices)


def check_in_process(trainer_cfg) -> None:
    """kiln.api.run trains in the caller's process, which Lightning cannot re-launch per rank."""
    if processes_per_run(trainer_cfg) > 1 and not launched_externally():
        raise KilnError(
            "A run on several devices needs one process per device, which kiln.api.run cannot "
            "start; run it as `kiln train ...` (or under torchrun or srun)."
        )


def check_launcher(trainer_cfg) -> None:
    """Under torchrun or srun the processes exist already: devices x num_nodes must match them.

    Lightning prefers torchrun's variables to SLURM's, so a torchrun inside a SLURM job counts
    as torchrun.
    """
    devices, nodes = devices_per_node(trainer_cfg), num_nodes(trainer_cfg)
    if os.environ.get("RANK") is not None:
        world = int(os.environ.get("WORLD_SIZE", 1))
        if world > 1 and world != devices * nodes:
            raise KilnError(
                f"The launcher started {world} processes but trainer.devices x trainer.num_nodes is "
                f"{devices * nodes}; set trainer.devices to the processes per node and "
                "trainer.num_nodes to the nodes."
            )
    elif slurm_launched():
        tasks = int(os.environ["SLURM_NTASKS"])
        slurm_nodes = int(os.environ.get("SLURM_NNODES", 1))
        if tasks > 1 and "SLURM_STEP_ID" not in os.environ:  # srun sets it; the batch script not
            raise KilnError(
                f"kiln runs in the batch script of a SLURM job of {tasks} tasks, where rank 0 "
                "would wait for the others forever; start it with srun (srun kiln train ...)."
            )
        if (tasks, slurm_nodes) != (devices * nodes, nodes):
            raise KilnError(
                f"SLURM started {tasks} task(s) on {slurm_nodes} node(s) but trainer.devices x "
                f"trainer.num_nodes is {devices} x {nodes}; start one task per device (srun "
                f"--nodes={nodes} --ntasks-per-node={devices}, or hydra.launcher.nodes and "
                "hydra.launcher.tasks_per_node) or set trainer.devices and trainer.num_nodes to match."
            )


def prepare_relaunch(command: str) -> None:
    """Let Lightning start the other ranks of *this* job as ``kiln <command> <this job's overrides>``.

    Lightning re-runs ``sys.argv`` plus ``hydra.run.dir``. kiln's CLI had removed the command
    from argv, and in a multirun argv holds the whole sweep; both would start the wrong thing.
    """
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    if not HydraConfig.initialized():
        return
    hc = HydraConfig.instance()
    flags, args = [], sys.argv[1:]
    for i, arg in enumerate(args):  # keep --config-dir & co., which are not overrides
        name = arg.split("=", 1)[0]
        if name in ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn"):
            flags += [arg] if "=" in arg else args[i : i + 2]
    sys.argv = [sys.argv[0], command, *flags, *hc.cfg.hydra.overrides.task]
    cfg = hc.cfg
    OmegaConf.set_readonly(cfg.hydra, False)
    with open_dict(cfg):
        cfg.hydra.run.dir = cfg.hydra.runtime.output_dir
    hc.set_config(cfg)


def batch_rule(batch_size: int, world: int, accumulate: int, lr: float | None) -> str:
    """One line that states the global batch and that the learning rate is used as configured."""
    line = (
        f"global batch {batch_size * world * accumulate} = data.batch_size {batch_size} per "
        f"process x {world} processes x accumulate_grad_batches {accumulate}"
    )
    return line + (f"; optimizer.lr {lr:g} as configured (kiln never rescales it)" if lr else "")
