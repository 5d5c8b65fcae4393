"""A composed config checked against its command's schema: types by OmegaConf, ranges and
examples from the fields' metadata, each error in kiln's one sentence (``sentence``)."""

from __future__ import annotations

import dataclasses
import math
import typing

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ValidationError

from kiln.config.schema.fields import bounds_in_words, in_range
from kiln.errors import KilnError

KINDS = {
    int: "an integer",
    float: "a number",
    bool: "true or false",
    str: "a string",
    list: "a list",
}


def check_schema(cfg: DictConfig, schema: type) -> None:
    """Raise a KilnError for the first value in ``cfg`` that its schema field refuses."""
    _walk(cfg, schema, "")


def _walk(cfg: DictConfig, schema: type, prefix: str) -> None:
    node = _select(cfg, prefix.rstrip(".")) if prefix else cfg
    if not isinstance(node, DictConfig):
        return  # absent, null or not a mapping: the task (or Hydra) reports that
    fields = {f.name: f for f in dataclasses.fields(schema)}
    closed = getattr(schema, "closed", None)
    if closed:
        for name in node:
            if name not in fields:
                raise KilnError(f"{prefix}{name} is not {closed}; use one of {', '.join(fields)}.")
    hints = typing.get_type_hints(schema)
    for name, f in fields.items():
        if name not in node:
            continue
        if dataclasses.is_dataclass(hints[name]):
            _walk(cfg, hints[name], f"{prefix}{name}.")
            continue
        value = _select(cfg, prefix + name)
        if value is None or value == "???":
            continue
        _check_leaf(f"{prefix}{name}", value, hints[name], f.metadata)


def _check_leaf(key: str, value, hint, meta) -> None:
    kind = _base(hint)
    if isinstance(value, str) and value in meta.get("words", ()):
        return  # e.g. data.batch_size=auto
    if kind is list:  # its items are the consumer's to check
        if not isinstance(value, ListConfig):
            raise sentence(key, value, kind, meta)
        return
    if kind is bool and not isinstance(value, bool):  # OmegaConf would read 'no' as false
        raise sentence(key, value, kind, meta)
    typed = OmegaConf.structured(_one_field(kind))
    try:
        typed.v = value  # OmegaConf converts ("8765" -> 8765) or refuses ('abc')
    except ValidationError:
        raise sentence(key, value, kind, meta) from None
    number = typed.v
    if kind in (int, float) and (not math.isfinite(number) or not in_range(number, meta)):
        raise sentence(key, value, kind, meta, out_of_range=math.isfinite(number))


def sentence(key: str, value, kind: type, meta, out_of_range: bool = False) -> KilnError:
    """A value the schema refuses, in one sentence: the key, the value, what it takes, an
    example."""
    eg = meta.get("eg")
    words = "".join(f" or {w}" for w in meta.get("words", ()))
    if kind is bool:
        return KilnError(
            f"{key}={value!r} must be true or false{words}; e.g. {key}={eg or 'true'}."
        )
    if out_of_range:
        return KilnError(
            f"{key}={value!r} must be {bounds_in_words(meta)}; set it to e.g. {key}={eg}."
        )
    return KilnError(f"{key}={value!r} is not {KINDS[kind]}{words}; set it to e.g. {key}={eg}.")


def _base(hint):
    """int for Optional[int]: the type a field takes besides null."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


_ONE: dict = {}


def _one_field(kind: type) -> type:
    """A dataclass of one optional field ``v`` of ``kind``: OmegaConf's node for that type."""
    if kind not in _ONE:
        _ONE[kind] = dataclasses.make_dataclass("Value", [("v", kind | None, None)])
    return _ONE[kind]


def _select(cfg: DictConfig, key: str):
    """A node as it is (a mapping unresolved), a leaf resolved; None where it does not resolve
    here (eval's ``data=<name>`` reading ``${seed}``): the task reports that."""
    try:
        return OmegaConf.select(cfg, key, throw_on_missing=False)
    except Exception:
        return None
