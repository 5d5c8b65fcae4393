"""Type and range checks of the numeric config values a user types, before any task runs.

Hydra takes ``optimizer.lr=abc`` as the string 'abc', and without a check it reaches torch or
Lightning as a traceback far from the key. ``check_values(cfg)`` names the key and the fix.
"""

from __future__ import annotations

import functools
import inspect
import math
import types
import typing
from importlib import resources

from omegaconf import DictConfig, ListConfig, OmegaConf

from kiln.errors import KilnError

INT, NUM = "an integer", "a number"
ABOVE_0 = math.nextafter(0.0, 1.0)  # a lowest bound that 0 itself fails: "above 0"
BELOW_1 = math.nextafter(1.0, 0.0)  # a highest bound that 1 itself fails: "below 1"

# dotted key -> (kind, lowest, highest, an example); bounds are inclusive, None: unbounded
RULES: dict[str, tuple[str, float | None, float | None, str]] = {
    "seed": (INT, 0, None, "42"),
    "optimizer.lr": (NUM, ABOVE_0, None, "1e-3"),
    "optimizer.weight_decay": (NUM, 0, None, "0.01"),
    "optimizer.momentum": (NUM, 0, None, "0.9"),
    "model.dropout": (NUM, 0, BELOW_1, "0.1"),
    "data.batch_size": (INT, 1, None, "64"),
    "data.eval_batch_size": (INT, 1, None, "256"),
    "data.val_fraction": (NUM, None, None, "0.15"),
    "data.test_fraction": (NUM, None, None, "0.15"),
    "scheduler.fn.step_size": (INT, 1, None, "10"),
    "scheduler.fn.gamma": (NUM, 0, None, "0.5"),
    "scheduler.fn.factor": (NUM, 0, BELOW_1, "0.5"),
    "scheduler.fn.patience": (INT, 0, None, "3"),
    "scheduler.fn.pct_start": (NUM, 0, BELOW_1, "0.25"),  # 1 leaves no decay: 0/0 in torch
    "scheduler.fn.warmup_fraction": (NUM, 0, 1, "0.05"),
    "scheduler.fn.min_ratio": (NUM, 0, 1, "0.0"),
    "trainer.max_epochs": (INT, -1, None, "10"),
    "trainer.min_epochs": (INT, 0, None, "1"),
    "trainer.max_steps": (INT, -1, None, "1000"),
    "trainer.accumulate_grad_batches": (INT, 1, None, "1"),
    "trainer.gradient_clip_val": (NUM, 0, None, "1.0"),
    "trainer.log_every_n_steps": (INT, 1, None, "50"),
    "trainer.check_val_every_n_epoch": (INT, 1, None, "1"),
    "callbacks.early_stopping.patience": (INT, 0, None, "10"),
    "cv.folds": (INT, 0, None, "5"),
    "tolerance": (NUM, 0, None, "1e-4"),
    "threads": (INT, 0, None, "1"),  # 0: the runtime's own choice (all cores)
    "chunk_rows": (INT, 1, None, "65536"),
    "port": (INT, 0, 65535, "8000"),
    "max_rows": (INT, 1, None, "1024"),
    "max_body_bytes": (INT, 1, None, "1048576"),
    "graceful_timeout_s": (INT, 0, None, "30"),
    "batching.max_batch_size": (INT, 1, None, "64"),
    "batching.max_wait_ms": (NUM, 0, None, "2.0"),
    "drift.window": (INT, 0, None, "1000"),
    "drift.every": (INT, 1, None, "100"),
    "drift.min_rows": (INT, 1, None, "100"),
    "workers": (INT, 0, None, "0"),
    "max_plots": (INT, 0, None, "100"),
    "reload_interval": (INT, 0, None, "5"),  # 0: TensorBoard loads once, at start
    "sweep.n_trials": (INT, 1, None, "20"),
    "sweep.n_workers": (INT, 1, None, "1"),
    "sweep.startup_trials": (INT, 0, None, "5"),
    "sweep.retries": (INT, 0, None, "2"),
    "sweep.heartbeat_s": (INT, 1, None, "10"),
}
THRESHOLDS = {  # kiln.monitoring.detect.DEFAULTS' keys (a test holds them equal)
    "small_reference_rows": (INT, 0, None, "1000"),
    "ks_pvalue": (NUM, 0, 1, "0.05"),
    "bonferroni": None,  # a boolean
    "wasserstein": (NUM, 0, None, "0.1"),
    "psi": (NUM, 0, None, "0.25"),
    "chi2_pvalue": (NUM, 0, 1, "0.05"),
    "jensenshannon": (NUM, 0, 1, "0.1"),
    "dataset_share": (NUM, 0, 1, "0.5"),
}


def check_values(cfg: DictConfig) -> None:
    """Raise a KilnError naming a required key left unset (``???``), or the first numeric key
    whose value has the wrong type or range."""
    missing = sorted(_missing_keys(OmegaConf.to_container(cfg, resolve=False)))
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        given = " ".join(f"{k}=..." for k in missing)
        raise KilnError(
            f"{', '.join(missing)} {verb} required and not set; pass {given} on the command line."
        )
    for key, rule in RULES.items():
        _check(key, _select(cfg, key), rule)
    for node in ("thresholds", "drift.thresholds"):
        given = _select(cfg, node)
        if not isinstance(given, dict):
            continue
        for name, value in given.items():
            if name not in THRESHOLDS:
                raise KilnError(
                    f"{node}.{name} is not a drift threshold; use one of {', '.join(THRESHOLDS)}."
                )
            if THRESHOLDS[name] is not None:
                _check(f"{node}.{name}", value, THRESHOLDS[name])
            elif not isinstance(value, bool):
                raise KilnError(f"{node}.{name}={value!r} must be true or false.")
    # a key handed to a _target_ class is its signature's to judge (check_targets), or none's
    targeted = [path for path, _ in _targets(OmegaConf.to_container(cfg, resolve=False), "")]
    for key in sorted(bool_keys() - NOT_ONLY_BOOL):
        if any(key.startswith(path) for path in targeted):
            continue
        value = _select(cfg, key)
        if value is not None and not isinstance(value, bool):
            raise KilnError(f"{key}={value!r} must be true or false; e.g. {key}=true.")
    check_targets(cfg)  # last: it imports the classes (Lightning's Trainer: seconds)


# keys the shipped configs set to true or false that also take something else
NOT_ONLY_BOOL = frozenset({"trainer.deterministic"})  # Lightning also takes "warn"


@functools.cache
def bool_keys() -> frozenset[str]:
    """The dotted keys that every config kiln ships sets to true or false (``overwrite``,
    ``test``, ``data.as_image``, ``preprocess.numeric.indicator``, ...): a task reads them with
    ``bool()`` or a truth test, where any text, ``no`` and ``off`` too, is true."""
    from kiln.config import CONFIG_MODULE

    seen: dict[str, bool] = {}  # key -> whether every file that sets it sets a boolean

    def walk(node, prefix: str) -> None:
        for key, value in node.items():
            if not isinstance(key, str) or key.startswith("_") or key == "defaults":
                continue
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif value is not None:
                seen[prefix + key] = seen.get(prefix + key, True) and isinstance(value, bool)

    def files(folder, group: str):
        for item in folder.iterdir():
            if item.is_dir() and item.name != "hydra":
                yield from files(item, f"{group}{item.name}.")
            elif item.name.endswith(".yaml"):
                yield item, group

    for item, group in files(resources.files(CONFIG_MODULE), ""):
        text = item.read_text()
        header = [ln for ln in text.splitlines() if ln.startswith("#")][:3]
        if any("@package _global_" in ln for ln in header):
            group = ""
        node = OmegaConf.to_container(OmegaConf.create(text), resolve=False)
        if isinstance(node, dict):
            walk(node, group)
    return frozenset(k for k, all_bool in seen.items() if all_bool)


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


def _check(key: str, value, rule) -> None:
    if value is None or value == "???":
        return
    kind, low, high, example = rule
    value = _number(value, kind)
    ok_type = isinstance(value, int) if kind == INT else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (kind == NUM and not math.isfinite(value)):
        raise KilnError(f"{key}={value!r} is not {kind}; set it to e.g. {key}={example}.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise KilnError(
            f"{key}={value!r} must be {_bounds(low, high)}; set it to e.g. {key}={example}."
        )


def _bounds(low, high) -> str:
    """The allowed range in words: "between 0 and 65535", "at least 1", "at least 0 and below 1"."""
    lo = None if low is None else "above 0" if low == ABOVE_0 else f"at least {low:g}"
    hi = None if high is None else "below 1" if high == BELOW_1 else f"at most {high:g}"
    if lo and hi and lo.startswith("at least") and hi.startswith("at most"):
        return f"between {low:g} and {high:g}"
    return " and ".join(w for w in (lo, hi) if w)
