"""Stored configs are data, not code.

A config read back from a checkpoint (``checkpoint["kiln"]["config"]``) or from a format=torch
artifact's metadata.json was written by whoever wrote that file, not by the user running kiln,
and Hydra's ``instantiate`` imports and calls any ``_target_`` in it (``builtins.open`` alone
plants a ``.pth`` file that Python runs at its next start). So before any object is built from
such a config, every ``_target_`` in it, nested ones and those in ``_args_`` included, must be
on an allow-list: kiln's own classes, the targets kiln's shipped configs name, and what the user
trusts (``trust_targets=[mypkg.*]``, the files of their ``--config-dir``, the targets of the
config they composed themselves). Anything else is refused in one sentence.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from kiln.errors import KilnError


def targets_in(node) -> set[str]:
    """Every string ``_target_`` in a plain config tree (dicts and lists, any depth)."""
    return {t for _, t in _target_fields(node, "") if isinstance(t, str)}


def _target_fields(node, where: str) -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        if "_target_" in node:
            yield f"{where}_target_", node["_target_"]
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield from _target_fields(value, f"{where}{key}.")


def _yaml_targets(files: Iterable) -> set[str]:
    found: set[str] = set()
    for f in files:
        try:
            docs = list(yaml.safe_load_all(f.read_text()))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # not a config kiln could compose either
        for doc in docs:
            found |= targets_in(doc)
    return {t for t in found if "${" not in t}


def _yaml_files(folder) -> Iterator:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _yaml_files(entry)
        elif entry.name.endswith((".yaml", ".yml")):
            yield entry


@functools.cache
def shipped_targets() -> frozenset[str]:
    """The ``_target_`` values kiln's own conf/ names (Lightning callbacks, torch optimizers and
    schedulers, kiln's classes): a checkpoint kiln wrote from its shipped configs names no other."""
    from importlib import resources

    from kiln.config import CONFIG_MODULE

    return frozenset(_yaml_targets(_yaml_files(resources.files(CONFIG_MODULE))))


def kiln_class(target: str) -> bool:
    """A class defined in kiln itself (not a function, not a name kiln merely imported)."""
    if not target.startswith("kiln."):
        return False
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):  # the longest importable kiln module, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return inspect.isclass(obj) and (obj.__module__ or "").split(".")[0] == "kiln"
    return False


class Trust:
    """What a stored config may build beyond kiln's allow-list: ``patterns`` are shell-style
    (``mypkg.*`` takes ``mypkg.models.Net``), ``targets`` exact names."""

    def __init__(self, patterns: Iterable[str] | str = (), targets: Iterable[str] = ()) -> None:
        if isinstance(patterns, str):
            patterns = [patterns]
        self.patterns = tuple(str(p) for p in patterns or ())
        self.targets = frozenset(t for t in targets if "${" not in t)

    def allows(self, target: str) -> bool:
        return (
            target in shipped_targets()
            or target in self.targets
            or any(fnmatch.fnmatchcase(target, p) for p in self.patterns)
            or kiln_class(target)
        )


def trust_from(cfg) -> Trust:
    """The user's trust for this command: its ``trust_targets`` patterns, the targets of the
    config they composed (they wrote it), and those named in the files of their --config-dir."""
    from omegaconf import DictConfig, OmegaConf

    patterns = cfg.get("trust_targets") if cfg is not None else None
    if isinstance(patterns, DictConfig) or (patterns is not None and not isinstance(patterns, str)):
        patterns = [str(p) for p in OmegaConf.to_container(patterns)] if patterns else []
    own = targets_in(OmegaConf.to_container(cfg, resolve=False)) if cfg is not None else set()
    return Trust(patterns or (), own | _config_dir_targets())


def _config_dir_targets() -> set[str]:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return set()
    found: set[str] = set()
    for source in HydraConfig.get().runtime.config_sources:
        if source.schema == "file" and Path(source.path).is_dir():  # kiln's own are pkg://
            found |= _yaml_targets(_yaml_files(Path(source.path)))
    return found


# modules that moved in the layered package (issue 15): a checkpoint written before names them
# by their old path; its targets are read at the new one (then checked like any other)
MOVED_MODULES = {
    "kiln.callbacks": "kiln.training.callbacks",
    "kiln.optim": "kiln.training.optim",
    "kiln.metrics": "kiln.training.metrics",
    "kiln.module": "kiln.training.module",
    "kiln.throughput": "kiln.training.throughput",
    "kiln.multirun": "kiln.config.multirun",
    "kiln.baselines": "kiln.compare.baselines",
}


def moved_target(target: str) -> str:
    """``target`` at its module's current path (kiln.optim.warmup_cosine -> kiln.training...)."""
    module, _, name = target.rpartition(".")
    return f"{MOVED_MODULES[module]}.{name}" if module in MOVED_MODULES else target


def _follow_moves(node) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            node["_target_"] = moved_target(node["_target_"])
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return
    for child in children:
        _follow_moves(child)


def check_stored(config, source: str, trust: Trust | None = None) -> None:
    """Refuse a config read from ``source`` (a checkpoint, an artifact) that would build
    anything outside the allow-list; called before any object is built from it. Targets of
    modules kiln has since moved are first rewritten in place to their new path."""
    trust = trust or Trust()
    _follow_moves(config)
    for where, target in _target_fields(config, ""):
        if not isinstance(target, str) or not target or "${" in target:
            raise KilnError(
                f"{source} has a _target_ at {where} that is not a plain dotted name "
                f"({target!r}), so kiln refuses to build from its config; use a file kiln wrote."
            )
        if not trust.allows(target):
            raise KilnError(
                f"{source} asks to build {target} (at {where}), which is neither kiln's nor a "
                f"target its configs name, so kiln refuses it; if you trust that file, pass "
                f"trust_targets=[{target}]."
            )
    where = _interpolation(config, "")
    if where:
        raise KilnError(
            f"{source} holds an interpolation at {where} (a stored config is saved resolved), "
            "so kiln refuses to build from it; use a file kiln wrote."
        )


def _interpolation(node, where: str) -> str | None:
    """The first string with ``${`` (which OmegaConf would resolve, oc.create included)."""
    if isinstance(node, str):
        return where.rstrip(".") or "the top" if "${" in node else None
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        found = _interpolation(value, f"{where}{key}.")
        if found:
            return found
    return None
