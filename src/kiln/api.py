"""Python API: compose a command's config and run its task in this process, as the CLI would.

import kiln.api
metrics = kiln.api.run("train", ["experiment=wine_mlp", "trainer.max_epochs=5"])
"""

from __future__ import annotations

from pathlib import Path

from kiln.config.compose import compose

__all__ = ["compose", "run"]


def run(command: str, overrides: list[str] | None = None, config_dir: str | Path | None = None):
    """Run ``kiln <command>`` in-process and return its result (e.g. train's final metrics).

    Errors a user can cause raise ``kiln.KilnError``.
    """
    import importlib

    from kiln.config.checks import check_values

    cfg = compose(command, overrides, config_dir)
    check_values(cfg)
    if cfg.get("trainer") is not None:
        from kiln.training.distributed import check_in_process

        check_in_process(cfg.trainer)
    return importlib.import_module(f"kiln.tasks.{command}").run(cfg)
