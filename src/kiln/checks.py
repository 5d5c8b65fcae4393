"""Type and range checks of the numeric config values a user types, before any task runs.

Hydra takes ``optimizer.lr=abc`` as the string 'abc', and without a check it reaches torch or
Lightning as a traceback far from the key. ``check_values(cfg)`` names the key and the fix.
"""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf

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
