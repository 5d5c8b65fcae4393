"""`kiln <command> [overrides]`: picks the command's Hydra config and hands it to its task.

Each command is a module in kiln.tasks with a ``run(cfg)`` function and a config
``conf/<command>.yaml``. Everything after the command is Hydra's: overrides, ``--help``,
``--cfg job``, ``-m`` (multirun), ``--config-dir`` and shell completion.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from importlib import resources

from omegaconf import OmegaConf

from kiln import import_gc
from kiln.config import CONFIG_MODULE, register_resolvers
from kiln.config.secret_overrides import hide_secrets
from kiln.errors import KilnError

log = logging.getLogger("kiln")

USAGE = """usage: kiln <command> [key=value ...] [hydra flags]

commands:
{commands}

examples:
  kiln train                                 the default experiment (CNN on digits)
  kiln train experiment=wine_mlp optimizer.lr=3e-3
  kiln train -m model=mlp,cnn optimizer=adam,sgd
  kiln eval ckpt_path=runs/train/<run>/checkpoints/best.ckpt
  kiln train --help                          config groups and the composed config
  kiln train --cfg job                       print the config without running

KILN_DEBUG=1 shows tracebacks for kiln's errors; HYDRA_FULL_ERROR=1 for Hydra's."""


def commands() -> dict[str, str]:
    """Command name -> first docstring line of its task module, for each conf/<command>.yaml."""
    names = sorted(
        p.name[:-5] for p in resources.files(CONFIG_MODULE).iterdir() if p.name.endswith(".yaml")
    )
    out = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(f"kiln.tasks.{name}")
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            out[name] = _summary(spec)
    return out


def _summary(spec) -> str:
    try:
        import ast

        doc = ast.get_docstring(ast.parse(open(spec.origin).read())) or ""
        return doc.strip().splitlines()[0] if doc else ""
    except OSError:
        return ""


def quiet_lightning() -> None:
    """Lightning's lines once, through Hydra's log setup, without its advertising tips."""
    import warnings

    if logging.getLogger().handlers:
        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda r: "Tip:" not in r.getMessage()
    )
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # KilnModule.transfer_batch_to_device only skips tensors already on the device
    warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
    if "SLURM_JOB_ID" not in os.environ:  # srun installed, but this run is not a SLURM job
        warnings.filterwarnings("ignore", message="The `srun` command is available")


def _drop_scratch() -> None:
    """A failed rank other than 0 leaves no scratch run directory behind (kiln.training.distributed)."""
    from pathlib import Path

    from hydra.core.hydra_config import HydraConfig

    from kiln.training.distributed import clean_scratch

    if HydraConfig.initialized():
        clean_scratch(Path(HydraConfig.get().runtime.output_dir))


def run_task(command: str, cfg) -> object:
    """Run a command's task; kiln errors become one line on stderr and exit status 2."""
    from kiln.config.checks import check_values

    try:
        check_values(cfg)  # before the task's imports (Lightning: seconds): a bad value answers now
        task = importlib.import_module(f"kiln.tasks.{command}")
        import_gc.resume()  # the libraries are in: collect the task's garbage as usual
        quiet_lightning()
        result = task.run(cfg)
    except KilnError as err:
        _drop_scratch()
        if os.environ.get("KILN_DEBUG") == "1":
            raise
        print(f"kiln {command}: error: {err}", file=sys.stderr, flush=True)
        sys.exit(err.exit_code)
    except OSError as err:  # a path the user gave that cannot be read or written
        if not _given_path(cfg, err.filename) or os.environ.get("KILN_DEBUG") == "1":
            raise  # kiln's own files, or a bug: the traceback
        _drop_scratch()
        print(
            f"kiln {command}: error: {err.filename} could not be used ({err.strerror}); "
            "check the path and its permissions.",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(KilnError.exit_code)
    if isinstance(result, dict) and result.get("exit_code"):  # e.g. kiln drift: 3 = drift found
        sys.exit(int(result["exit_code"]))
    return result


def _given_path(cfg, filename) -> bool:
    """Whether a file is one the config names, or lies under one (a run directory, an output
    folder): a path the user chose."""
    if filename is None:
        return False
    try:
        plain = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation that does not resolve: not worth a second error
        return False
    target = os.path.abspath(os.fsdecode(filename))

    def leaves(node):
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            for item in node:
                yield from leaves(item)
        elif isinstance(node, str) and node.strip() not in ("", ".", "./"):
            yield os.path.abspath(os.path.expanduser(node))

    return any(target == p or target.startswith(p.rstrip(os.sep) + os.sep) for p in leaves(plain))


def _completion_command(argv: list[str]) -> str | None:
    """For `kiln -sc query=bash`: find the command in COMP_LINE and hide it from Hydra."""
    words = os.environ.get("COMP_LINE", "").split()
    known = commands()
    if len(words) >= 2 and words[1] in known:
        os.environ["COMP_LINE"] = " ".join([words[0], *words[2:]]) + (
            " " if os.environ.get("COMP_LINE", "").endswith(" ") else ""
        )
        return words[1]
    if any(a.startswith("query=") for a in argv):
        typed = words[1] if len(words) >= 2 and not os.environ["COMP_LINE"].endswith(" ") else ""
        print(" ".join(c for c in known if c.startswith(typed)))
        sys.exit(0)
    return "train"  # install/uninstall: the script is the same for every command


def _positional(command: str, argv: list[str]) -> list[str]:
    """A task's ``POSITIONAL`` key takes a bare first argument: ``kiln tensorboard runs/x``."""
    if argv and "=" not in argv[0] and not argv[0].startswith("-"):
        key = getattr(importlib.import_module(f"kiln.tasks.{command}"), "POSITIONAL", None)
        if key:
            return [f"{key}={argv[0]}", *argv[1:]]
    return argv


def main(argv: list[str] | None = None) -> None:
    import_gc.pause()  # until run_task has imported the task (kiln.import_gc says why)
    try:
        _main(argv)
    finally:
        import_gc.resume()


def _main(argv: list[str] | None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = commands()
    if argv and argv[0] in ("-sc", "--shell-completion"):
        command = _completion_command(argv)
    else:
        if not argv or argv[0] in ("-h", "--help", "help"):
            width = max(map(len, known), default=0)
            lines = "\n".join(f"  {name.ljust(width)}  {doc}" for name, doc in known.items())
            print(USAGE.format(commands=lines))
            return
        if argv[0] in ("-V", "--version"):
            from kiln.version import __version__

            print(f"kiln {__version__}")
            return
        command = argv.pop(0)
        if command not in known:
            print(
                f"kiln: error: unknown command {command!r}; use one of {', '.join(known)} (kiln --help).",
                file=sys.stderr,
            )
            sys.exit(2)
        argv = _positional(command, argv)
    import hydra

    register_resolvers()

    from kiln.config.hydra_errors import (
        check_group_overrides,
        config_dir_given,
        one_line_config_errors,
        reported_by_hydra,
    )

    argv = hide_secrets(argv)  # api_key=..., passwords: into the environment, never to disk
    try:
        bad_dir = config_dir_given(argv)
        if bad_dir:
            raise KilnError(bad_dir)
        check_group_overrides(command, [a for a in argv if not a.startswith("-")])
    except KilnError as err:
        print(f"kiln {command}: error: {err}", file=sys.stderr, flush=True)
        sys.exit(err.exit_code)

    @reported_by_hydra
    def task_function(cfg):
        return run_task(command, cfg)

    task_function.__module__ = __name__
    sys.argv = [sys.argv[0], *argv]
    with one_line_config_errors(command):
        hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name=command)(
            task_function
        )()


if __name__ == "__main__":
    main()
