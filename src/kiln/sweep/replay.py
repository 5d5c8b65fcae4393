"""The `kiln train` command line that reproduces a trial: experiment and group choices that
differ from train's defaults, then every remaining config value that differs, verified by
composing the command and comparing."""

from __future__ import annotations

import logging

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from kiln.sweep.space import as_override_text

log = logging.getLogger("kiln")
SKIP = {"paths", "task_name", "print_config", "sweep", "hydra"}


def _composed(command: str, overrides: list[str], config_dir: str | None):
    """(unresolved config as plain data, group choices) of a composition."""
    from kiln.config.compose import compose

    cfg = compose(command, overrides, config_dir)
    choices = {
        k: v for k, v in HydraConfig.get().runtime.choices.items() if not k.startswith("hydra")
    }
    plain = {k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items() if k not in SKIP}
    return plain, choices


def _leaves(d: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_leaves(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def train_command(sweep_overrides: list[str], config_dir: str | None = None) -> list[str]:
    """Overrides for `kiln train` giving the config that `kiln sweep <sweep_overrides>` gives a
    trial (paths and the sweep's own keys aside)."""
    target, choices = _composed("sweep", sweep_overrides, config_dir)
    out = [f"experiment={choices['experiment']}"] if choices.get("experiment") else []
    _, have = _composed("train", out, config_dir)
    for group, option in choices.items():
        if group not in ("experiment", "sweep", "paths") and have.get(group) != option:
            out.append(f"{group}={option}")
    current, _ = _composed("train", out, config_dir)
    want, now = _leaves(target), _leaves(current)
    for key, value in want.items():
        if key not in now:
            out.append(f"+{key}={as_override_text(value)}")
        elif now[key] != value:
            out.append(f"{key}={as_override_text(value)}")
    known = {".".join(k.split(".")[:i]) for k in want for i in range(1, k.count(".") + 2)}
    for key in now:
        parts = key.split(".")
        prefixes = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
        gone = next((p for p in prefixes if p not in known), None)
        if gone and f"~{gone}" not in out:
            out.append(f"~{gone}")
    check, _ = _composed("train", out, config_dir)
    if _leaves(check) != want:
        log.warning("the reproducing command line is approximate: %s", " ".join(out))
    return out
