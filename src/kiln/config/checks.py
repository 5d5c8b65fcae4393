"""The checks a composed config passes before any task runs (and before Lightning is imported).

Hydra takes ``optimizer.lr=abc`` as the string 'abc', and without a check it reaches torch or
Lightning as a traceback far from the key. ``check_values(cfg)`` names the key and the fix:
required keys, then the command's schema (kiln.config.schema: types and ranges), then each
``_target_`` node's values against its class's signature (``check_targets``).
"""

from __future__ import annotations

import inspect
import types
import typing

from omegaconf import DictConfig, ListConfig, OmegaConf

from kiln.config.schema import SCHEMAS, check_schema
from kiln.config.secret_overrides import url_password
from kiln.errors import KilnError

INT, NUM = "an integer", "a number"


def check_values(cfg: DictConfig) -> None:
    """Raise a KilnError naming a required key left unset (``???``), a value its command's
    schema refuses (kiln.config.schema), or a value a ``_target_``'s signature refuses."""
    missing = sorted(_missing_keys(OmegaConf.to_container(cfg, resolve=False)))
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        given = " ".join(f"{k}=..." for k in missing)
        raise KilnError(
            f"{', '.join(missing)} {verb} required and not set; pass {given} on the command line."
        )
    schema = SCHEMAS.get(str(cfg.get("task_name")))
    if schema is not None:
        check_schema(cfg, schema)
    check_logger_passwords(cfg)
    check_targets(cfg)  # last: it imports the classes (Lightning's Trainer: seconds)


def check_logger_passwords(cfg: DictConfig) -> None:
    """A logger's URL with a password (logger.mlflow.tracking_uri=https://user:pw@host) would be
    written, resolved, into the run's config.yaml and checkpoint: refused, naming the
    environment variables MLflow reads credentials from instead."""
    loggers = cfg.get("logger") if isinstance(cfg.get("logger"), DictConfig) else None
    for name, node in (loggers or {}).items():
        if not isinstance(node, DictConfig):
            continue
        for key in node:
            value = _select(cfg, f"logger.{name}.{key}")
            if isinstance(value, str) and url_password(value):
                raise KilnError(
                    f"logger.{name}.{key} holds a password, which kiln would write into the "
                    "run's config.yaml; leave it out of the URL and set MLFLOW_TRACKING_USERNAME "
                    "and MLFLOW_TRACKING_PASSWORD, or put the whole URL in MLFLOW_TRACKING_URI "
                    f"with logger.{name}.{key}=null (read at run time, never written)."
                )


def check_targets(cfg: DictConfig) -> None:
    """Each value a config node with ``_target_`` (the model, the optimizer, the trainer, a
    callback) hands its class has the type the class's signature asks for: ``model.hidden``
    is a list for MLP and an integer for ResMLP, ``optimizer.betas`` a pair of numbers."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    for path, node in _targets(plain, ""):
        target = _locate(node["_target_"])
        if target is None:
            continue  # not importable here: building it reports that
        try:
            func = target.__init__ if inspect.isclass(target) else target
            hints = typing.get_type_hints(func)
            params = inspect.signature(target).parameters
        except Exception:  # no signature to compare with: building it is the check
            continue
        name = getattr(target, "__name__", node["_target_"])
        for key in node:
            if key.startswith("_") or key not in hints or key not in params:
                continue
            full = f"{path}{key}"
            value = _select(cfg, full)
            if isinstance(value, ListConfig):
                value = OmegaConf.to_container(value, resolve=True)
            if value is None and params[key].default is None:
                continue
            if value == "???" or isinstance(value, dict) or _fits(hints[key], value) is not False:
                continue
            default = params[key].default
            example = (
                ""
                if default in (inspect.Parameter.empty, None)
                else (f"; e.g. {full}={_typed(default)}")
            )
            raise KilnError(f"{full}={value!r} must be {_words(hints[key])} for {name}{example}.")


def _targets(node, prefix: str):
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            yield prefix, node
        for key, value in node.items():
            if isinstance(value, dict):
                yield from _targets(value, f"{prefix}{key}.")


def _locate(path: str):
    try:
        from hydra.utils import get_object

        return get_object(path)
    except Exception:
        return None


def _typed(value) -> str:
    """A default as it is typed on the command line: true, [0.9, 0.999], 256."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_typed(v) for v in value) + "]"
    return str(value)


def _union_args(ann):
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return typing.get_args(ann)
    return None


def _fits(ann, value) -> bool | None:
    """Whether a config value fits an annotation; None where the annotation cannot tell."""
    members = _union_args(ann)
    if members is not None:
        results = [_fits(m, value) for m in members]
        return True if True in results else None if None in results else False
    if ann is type(None):
        return value is None
    if ann is bool:
        return isinstance(value, bool)
    if ann in (int, float):
        value = _number(value, INT if ann is int else NUM)
        return not isinstance(value, bool) and isinstance(
            value, int if ann is int else (int, float)
        )
    if ann is str:
        return value is not None and not isinstance(value, (bool, list, dict))
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return value in args
    if origin in (list, tuple, typing.Sequence) or ann in (list, tuple):
        if not isinstance(value, list):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                return False
            results = [_fits(a, v) for a, v in zip(args, value, strict=True)]
        elif args:
            results = [_fits(args[0], v) for v in value]
        else:
            return True
        return False if False in results else None if None in results else True
    if ann is dict or origin is dict:
        return isinstance(value, dict)
    return None  # a class kiln cannot compare a config value with (Tensor, Path, Accelerator)


def _words(ann) -> str:
    """An annotation in words: "an integer", "a list of integers", "true or false"."""
    members = _union_args(ann)
    if members is not None:
        words = [_words(m) for m in members]
        return " or ".join(dict.fromkeys(w for w in words if w))
    if ann is type(None):
        return "null"
    simple = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if ann in simple:
        return simple[ann]
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return "one of " + ", ".join(_typed(a) for a in args)
    if origin in (list, tuple, typing.Sequence) or ann in (list, tuple):
        plural = {"an integer": "integers", "a number": "numbers", "a string": "strings"}
        inner = {_words(a) for a in args if a is not Ellipsis}
        kind = plural.get(inner.pop(), "values") if len(inner) == 1 else "values"
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} {kind}"
        return f"a list of {kind}"
    if ann is dict or origin is dict:
        return "a mapping"
    return ""


def _missing_keys(node, prefix: str = "") -> list[str]:
    """Keys left at ``???``, without resolving anything (OmegaConf.missing_keys resolves, and an
    interpolation to a key the command lacks, such as eval's ``data=<name>`` reading ``${seed}``,
    is the task's to handle)."""
    if not isinstance(node, dict):
        return []
    out = []
    for key, value in node.items():
        if value == "???":
            out.append(f"{prefix}{key}")
        else:
            out += _missing_keys(value, f"{prefix}{key}.")
    return out


def _select(cfg: DictConfig, key: str):
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=False)
    except Exception:  # an interpolation that does not resolve here: the task reports it
        return None
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


def _number(value, kind: str):
    """A number as the task will read it: ``int()``/``float()`` of a string too (what
    ``${oc.env:PORT,8000}`` gives), or the value unchanged where it is not one."""
    if isinstance(value, str) and not isinstance(value, bool):
        try:
            return int(value) if kind == INT else float(value)
        except ValueError:
            return value
    return value
