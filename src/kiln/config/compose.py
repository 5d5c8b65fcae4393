"""A command's config composed as the CLI would (Hydra, kiln's conf/, a user's config dir),
with a fresh run directory set: the one way kiln.api, the sweep's trials and its replay get one."""

from __future__ import annotations

from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from kiln.config import CONFIG_MODULE, register_resolvers
from kiln.config.secret_overrides import hide_secrets


def compose(
    command: str, overrides: list[str] | None = None, config_dir: str | Path | None = None
) -> DictConfig:
    """The composed config of ``kiln <command> <overrides>``, with a fresh run directory set.

    ``config_dir`` plays the part of ``--config-dir``: a user's own configs (new experiments,
    data, models) beside kiln's.
    """
    from kiln.config.hydra_errors import check_group_overrides, not_a_config_dir
    from kiln.errors import KilnError

    register_resolvers()
    overrides = hide_secrets(list(overrides or []))  # values into the environment, not to disk
    why = None if config_dir is None else not_a_config_dir("config_dir", str(config_dir))
    if why:
        raise KilnError(why)
    check_group_overrides(command, list(overrides or []))
    GlobalHydra.instance().clear()
    ctx = initialize_config_module(CONFIG_MODULE, version_base="1.3")
    extra = [f"hydra.searchpath=[file://{Path(config_dir).resolve()}]"] if config_dir else []
    with ctx:
        cfg = hydra_compose(
            config_name=command, overrides=[*extra, *(overrides or [])], return_hydra_config=True
        )
    HydraConfig.instance().set_config(cfg)
    run_dir = OmegaConf.select(cfg, "hydra.run.dir")
    OmegaConf.set_readonly(cfg.hydra, False)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(Path(run_dir).resolve())
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):  # as in a CLI run the task sees its own config; ${hydra:...} resolves
        del cfg["hydra"]
    return cfg
