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

FLAG = "HYDRA_FULL_ERROR"
_user: list[str | None] = [os.environ.get(FLAG)]  # the user's value, before kiln sets its own


def _set(value: str | None) -> None:
    if value is None:
        os.environ.pop(FLAG, None)
    else:
        os.environ[FLAG] = value


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
    unknown = re.match(r"Could not override '([^']+)'\.\s*To append to your config use (\S+)", text)
    if unknown:
        key, plus = unknown.groups()
        return (
            f"{key} is not a key of the {command} config; check its spelling "
            f"(kiln {command} --cfg job shows the keys) or write {plus} to add a new key."
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
    if not found:
        return None
    try:
        import importlib

        refuse = getattr(importlib.import_module(f"kiln.tasks.{command}"), "refused_override", None)
    except ImportError:
        return None
    return refuse(found.group(2)) if refuse is not None else None


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
