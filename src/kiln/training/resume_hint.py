"""The command that resumes a stopped run: ``kiln train ckpt_path=<last.ckpt> <same overrides>``."""

from __future__ import annotations

import shlex
from pathlib import Path


def resume_command(last: Path, command: str = "train") -> str:
    """This run's own overrides (Hydra's record of them), an old ckpt_path replaced by ``last``."""
    try:
        from hydra.core.hydra_config import HydraConfig

        typed = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    except Exception:  # no Hydra run (a caller of the task function): the path alone
        typed = []
    kept = [o for o in typed if o.split("=", 1)[0].lstrip("+~") != "ckpt_path"]
    return " ".join(
        ["kiln", command, shlex.quote(f"ckpt_path={last}"), *(shlex.quote(o) for o in kept)]
    )
