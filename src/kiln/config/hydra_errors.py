"""Hydra's composition errors as one line of kiln's: the problem and the fix.

Hydra reports a bad override (a key the config lacks, a group option that does not exist, an
override it cannot parse) over several lines: the message, OmegaConf's details, the config
search path and a hint about HYDRA_FULL_ERROR. kiln asks Hydra to raise these instead, by
setting HYDRA_FULL_ERROR=1 while it composes, and prints one line that names the problem and
the fix, with exit status 2. While a task runs, the user's own HYDRA_FULL_ERROR is back, so
errors inside a task (and in the processes it starts) are reported as Hydra reports them. A
user who sets HYDRA_FULL_ERROR=1 gets Hydra's exceptions as before.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys

from hydra.errors import CompactHydraException, MissingConfigException, OverrideParseException

from kiln.errors import KilnError

FLAG = "HYDRA_FULL_ERROR"
_user: list[str | None] = [os.environ.get(FLAG)]  # the user's value, before kiln sets its own


def _set(value: str | None) -> None:
    if value is None:
        os.environ.pop(FLAG, None)
    else:
        os.environ[FLAG] = value


def _conf():
    from importlib import resources

    from kiln.config import CONFIG_MODULE

    return resources.files(CONFIG_MODULE)


@functools.cache
def groups() -> tuple[str, ...]:
    """kiln's config groups a user chooses from (conf/<group>/), hydra's own left out."""
    return tuple(sorted(p.name for p in _conf().iterdir() if p.is_dir() and _is_group(p)))


def _is_group(path) -> bool:
    return path.name not in ("hydra", "__pycache__") and any(
        f.name.endswith(".yaml") for f in path.iterdir()
    )


@functools.cache
def groups_of(command: str) -> tuple[str, ...]:
    """The groups in a command's defaults list (``kiln sweep`` has train's too)."""
    from omegaconf import OmegaConf

    path = _conf() / f"{command}.yaml"
    if not path.is_file():
        return ()
    out: list[str] = []
    for entry in OmegaConf.to_container(OmegaConf.create(path.read_text())).get("defaults", []):
        if isinstance(entry, str) and entry != "_self_":
            out += groups_of(entry)  # another primary config: kiln sweep's train
        elif isinstance(entry, dict):
            out += [k.removeprefix("override ").lstrip("/") for k in entry]
    return tuple(g for g in dict.fromkeys(out) if g in groups())


def _commands_taking(group: str) -> list[str]:
    names = sorted(p.name[:-5] for p in _conf().iterdir() if p.name.endswith(".yaml"))
    return [c for c in names if group in groups_of(c)]


def not_a_group_of(command: str, group: str, option: str) -> str:
    """A group option given to a command whose config has no such group: Hydra's advice
    (``+group=option``) composes it, and the command ignores it."""
    others = sorted(
        (c for c in _commands_taking(group) if c != command), key=lambda c: c != "train"
    )
    elsewhere = (
        f"use kiln {others[0]} {group}={option} for that, or leave it out; "
        if others
        else ("leave it out; ")
    )
    return (
        f"kiln {command} does not use the {group} group; {elsewhere}"
        f"kiln {command} takes the groups {', '.join(groups_of(command)) or '(none)'}."
    )


def check_group_overrides(command: str, overrides: list[str]) -> None:
    """``+group=option`` for a kiln group the command does not take (``kiln train
    +sweep=wine_mlp``) would be composed and then ignored: a KilnError instead."""
    for item in overrides:
        key, eq, value = item.partition("=")
        group = key.lstrip("+")
        if eq and key.startswith("+") and group in groups() and group not in groups_of(command):
            raise KilnError(_task_refusal(command, item) or not_a_group_of(command, group, value))


def unwritable(err: OSError) -> str:
    """One line for a run directory Hydra could not make: the runs root cannot be written."""
    from kiln.errors import why_not_writable

    path = os.fsdecode(err.filename)
    return (
        f"{path} cannot be created ({why_not_writable(err, path)}); choose a runs root that can "
        "be written with KILN_RUNS=<folder> or paths.root=<folder>."
    )


def config_dir_given(argv: list[str]) -> str | None:
    """A ``--config-dir``/``-cd`` that is not a directory, in one sentence (Hydra would only
    miss the configs in it: ``experiment=mine is not a config option``, or train silently)."""
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name not in ("--config-dir", "-cd"):
            continue
        if not eq:
            value = argv[i + 1] if i + 1 < len(argv) else ""
        why = not_a_config_dir("--config-dir", value)
        if why:
            return why
    return None


def not_a_config_dir(given_as: str, value: str) -> str | None:
    """Why ``value`` cannot be a folder of configs, in one sentence, or None if it can."""
    if os.path.isdir(value):
        return None
    what = "is a file, not a folder" if os.path.exists(value) else "does not exist"
    return f"{given_as} {value} {what}; pass the folder that holds your configs (e.g. {given_as} ./conf)."


def _quoted(override: str) -> str:
    """An override as it is typed in a shell: in double quotes if it holds a space or quote."""
    return f'"{override}"' if any(c in override for c in " '()") else override


def sentence(err: CompactHydraException, command: str) -> str:
    """One line for a Hydra composition error, naming the override and what to type instead."""
    text = str(err)
    if isinstance(err, MissingConfigException) and err.options and err.missing_cfg_file:
        group, _, name = err.missing_cfg_file.rpartition("/")
        if group:
            return f"{group}={name} is not a config option; {group} takes one of: {', '.join(err.options)}."
    twice = re.match(
        r"Multiple values for (\S+)\. To override a value use 'override \S+: (\S+)'", text
    )
    if twice:  # +optimizer=sgd where the config lists optimizer already
        group, name = twice.groups()
        return f"+{group}={name} adds to {group}, which the {command} config already sets; write {group}={name}."
    refused = _refused_by_task(text, command)
    if refused:
        return refused
    group = re.match(
        r"Could not override '([^']+)'\. No match in the defaults list\.\s*"
        r"To append to your default list use \+[^=]*=(.*)",
        text,
    )
    if group and group.group(1) in groups():
        return not_a_group_of(command, group.group(1), group.group(2).strip())
    unknown = re.match(r"Could not override '([^']+)'\.\s*To append to your config use (.+)", text)
    if unknown:
        key, plus = unknown.groups()
        if (
            key.startswith("model.") and key != "model._target_"
        ):  # model=auto (the default) has no settings of its own
            return (
                f"{key} is not a key of the chosen model, and the default model=auto has none "
                f"until the data picks one; name the model first (e.g. model=mlp {plus.strip().lstrip('+')}), "
                f"or check the key's spelling (kiln {command} --cfg job shows the keys)."
            )
        return (
            f"{key} is not a key of the {command} config; check its spelling "
            f"(kiln {command} --cfg job shows the keys) or write {_quoted(plus.strip())} to add a "
            "new key."
        )
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("Config search path", "provider="))]
    if isinstance(err, OverrideParseException):
        lines.insert(0, "an override cannot be parsed:")
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        lines.append(f"({str(cause).strip().splitlines()[0]})")
    return " ".join(ln if ln.endswith((".", ":", "?", "!", ")")) else ln + "." for ln in lines)


def _refused_by_task(text: str, command: str) -> str | None:
    """A command may refuse an override it would not apply in its own words
    (``refused_override`` in its task module, e.g. kiln retrain's model.*), rather than be
    told to add the key with ``+``, which would compose and then be ignored."""
    found = re.match(r"Could not override '([^']+)'\..*?use \+(\S+?)\.?$", text, re.S)
    return _task_refusal(command, found.group(2)) if found else None


def _task_refusal(command: str, override: str) -> str | None:
    """The command's own sentence for an override it would not apply, if it has one
    (``kiln.config.<command>_keys.refused_override``: light modules, no Lightning import)."""
    import importlib

    try:
        keys = importlib.import_module(f"kiln.config.{command}_keys")
    except ImportError:
        return None
    return keys.refused_override(override)


@contextlib.contextmanager
def one_line_config_errors(command: str):
    """Around ``hydra.main``: composition errors become one line on stderr and exit status 2."""
    _user[0] = os.environ.get(FLAG)
    if _user[0] == "1":
        yield
        return
    _set("1")
    try:
        yield
    except CompactHydraException as err:
        print(f"kiln {command}: error: {sentence(err, command)}", file=sys.stderr, flush=True)
        sys.exit(2)
    except OSError as err:  # Hydra making the run directory, before any task runs
        if err.filename is None:
            raise
        print(f"kiln {command}: error: {unwritable(err)}", file=sys.stderr, flush=True)
        sys.exit(2)
    finally:
        _set(_user[0])


def reported_by_hydra(task):
    """Wrap a task function: it runs under the user's own HYDRA_FULL_ERROR. If it raises, that
    stays so, and Hydra reports the error its own way; if it returns, kiln's value comes back
    for the next multirun job's composition."""

    @functools.wraps(task)
    def run(cfg):
        mine = os.environ.get(FLAG)
        _set(_user[0])
        result = task(cfg)
        _set(mine)
        return result

    return run
