"""The model list, read from conf/model/*.yaml: each config's ``_target_`` class and the kinds of
data its ``input_kinds`` says it takes. Nothing is kept by hand, so a new config is listed."""

from __future__ import annotations

import functools
from importlib import resources

import yaml
from hydra.utils import get_object

from kiln.config import CONFIG_MODULE


def _node(name: str) -> dict:
    """conf/model/<name>.yaml as plain data, its ``defaults`` (another model config) under it."""
    text = resources.files(CONFIG_MODULE).joinpath("model", f"{name}.yaml").read_text()
    node = yaml.safe_load(text) or {}
    merged: dict = {}
    for parent in node.pop("defaults", None) or []:
        if parent != "_self_":
            merged.update(_node(str(parent)))
    merged.update(node)
    return merged


@functools.cache
def model_targets() -> dict[str, str]:
    """config name (what ``model=`` takes) -> the dotted class its ``_target_`` names."""
    folder = resources.files(CONFIG_MODULE).joinpath("model")
    names = sorted(
        f.name.removesuffix(".yaml") for f in folder.iterdir() if f.name.endswith(".yaml")
    )
    nodes = {name: _node(name) for name in names}
    return {name: str(n["_target_"]) for name, n in nodes.items() if "_target_" in n}  # not auto


def model_config(name: str) -> dict:
    """conf/model/<name>.yaml as ``model=<name>`` composes it (its defaults merged under it)."""
    return dict(_node(name))


def model_names() -> list[str]:
    """Every ``model=`` choice kiln ships that names a class (``auto`` picks one of these)."""
    return list(model_targets())


def models_for(kind: str) -> list[str]:
    """The ``model=`` choices whose class takes data of ``kind`` (its ``input_kinds``)."""
    return [
        name
        for name, target in model_targets().items()
        if kind in getattr(get_object(target), "input_kinds", ())
    ]
