"""Config helpers shared by the CLI and the Python API: resolvers, flattening, printing."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from omegaconf import DictConfig, OmegaConf

CONFIG_MODULE = "kiln.conf"


def register_resolvers() -> None:
    """``${kiln_uid:}``: a short random suffix, the same for every use within one process, so a
    run directory named by time plus suffix never collides with a parallel run's."""
    if not OmegaConf.has_resolver("kiln_uid"):
        OmegaConf.register_new_resolver("kiln_uid", lambda: secrets.token_hex(3), use_cache=True)
    if not OmegaConf.has_resolver("kiln_run_dir"):  # rank 0's run dir; a scratch dir elsewhere
        from kiln.config.ranks import run_dir

        # not cached: Hydra's submitit launcher hands each SLURM task the submitting process's
        # resolver cache (so the time and suffix match), and the rank must be this task's own
        OmegaConf.register_new_resolver("kiln_run_dir", run_dir, use_cache=False)


def to_plain(cfg: DictConfig) -> dict:
    """The resolved config as plain Python (no hydra section), safe for JSON and weights_only."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain.pop("hydra", None)
    return plain


def flatten(d: Mapping, prefix: str = "") -> dict[str, object]:
    """Dotted keys to scalar values (lists become strings); used for TensorBoard hparams."""
    out: dict[str, object] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            out[name] = str(list(value))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = "None" if value is None else value
    return out


def print_config(cfg: DictConfig) -> None:
    """The composed config as a tree, one branch per top-level group."""
    from rich import print as rprint
    from rich.syntax import Syntax
    from rich.tree import Tree

    tree = Tree("config", guide_style="dim")
    for key, value in cfg.items():
        branch = tree.add(str(key))
        text = (
            OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        )
        branch.add(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    rprint(tree)
