"""Checkpoints: read without running pickled code, checked against the run that uses them,
and copied so that a resume lands in its own run directory."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import torch

from kiln.config.trust import check_stored
from kiln.data.spec import InputSpec
from kiln.errors import KilnError, not_a_file
from kiln.files import atomic as atomic_files
from kiln.training.optim import fills_total_steps, unwrap


def load_checkpoint(path: str | None, trust=None) -> dict:
    """Read a kiln checkpoint without running pickled code (weights_only), its stored config
    checked against the allow-list (kiln.config.trust; ``trust``: what the user trusts beyond it)
    before anything is built from it."""
    ckpt = read_checkpoint(path)
    check_stored(ckpt["kiln"].get("config") or {}, f"Checkpoint {path}", trust)
    return ckpt


def read_checkpoint(path: str | None) -> dict:
    """A kiln checkpoint's tensors and metadata (weights_only), its config unchecked: for code
    that reads weights or the profile only and builds nothing from the config."""
    if not path:
        raise KilnError(
            "ckpt_path is not set; pass ckpt_path=runs/train/<run>/checkpoints/best.ckpt."
        )
    p = Path(path)
    if not p.is_file():
        raise KilnError(
            f"Checkpoint file {path} {not_a_file(p)}; pass the path of a .ckpt written by kiln train."
        )
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated file, or one that is no checkpoint at all
        raise KilnError(
            f"{path} could not be read as a checkpoint ({type(err).__name__}); pass a .ckpt written by kiln train."
        ) from None
    if not isinstance(ckpt, dict) or "kiln" not in ckpt or "state_dict" not in ckpt:
        raise KilnError(
            f"{path} is not a kiln checkpoint (no kiln metadata); pass a .ckpt written by kiln train."
        )
    if ckpt["kiln"].get("profile") is not None:  # stored compactly (pack, below)
        ckpt["kiln"]["profile"] = unpack(ckpt["kiln"]["profile"])
    return ckpt


def check_compatible(ckpt: dict, path: str, cfg_model: dict, spec: InputSpec) -> None:
    """The checkpoint must come from the same model class and the same kind of data."""
    meta = ckpt["kiln"]
    old_spec = meta["spec"]
    old_model = (meta.get("config") or {}).get("model", {}).get("_target_")
    new_model = cfg_model.get("_target_")
    if old_model and new_model and old_model != new_model:
        raise KilnError(
            f"Checkpoint {path} holds a {old_model.rsplit('.', 1)[-1]} but this run builds a "
            f"{new_model.rsplit('.', 1)[-1]}; use the model the checkpoint was trained with, or drop ckpt_path."
        )
    mismatches = [
        k for k in ("dataset", "kind", "task", "num_outputs") if old_spec.get(k) != getattr(spec, k)
    ] + (["shape"] if tuple(old_spec.get("shape", ())) != tuple(spec.shape) else [])
    if mismatches:
        raise KilnError(
            f"Checkpoint {path} was trained on {old_spec['dataset']} ({old_spec['task']}, shape {tuple(old_spec['shape'])}) "
            f"but the data here is {spec.dataset} ({spec.task}, shape {tuple(spec.shape)}); use the checkpoint's data."
        )


def check_weights_fit(ckpt: dict, path: str, cfg_model: dict, module) -> None:
    """A resumed run's network must have the checkpoint's shapes: the same model class built
    with other model.* settings (hidden sizes, layers) fails in load_state_dict otherwise."""
    saved = ckpt["state_dict"]
    here = module.state_dict()
    wrong = [
        k
        for k in sorted(set(saved) | set(here))
        if k.startswith("network.")
        and (k not in saved or k not in here or tuple(saved[k].shape) != tuple(here[k].shape))
    ]
    if not wrong:
        return
    old = _leaves((ckpt["kiln"].get("config") or {}).get("model") or {}, "model")
    new = _leaves(cfg_model, "model")
    differ = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    fix = "resume with the checkpoint's model settings or start a new run without ckpt_path"
    if differ:
        raise KilnError(
            f"Checkpoint {path}'s model has "
            + ", ".join(f"{k}={old.get(k)}" for k in differ)
            + ", this run asks for "
            + ", ".join(f"{k}={new.get(k)}" for k in differ)
            + f", and its weights do not fit; {fix}."
        )
    k = wrong[0]
    shape = lambda sd: list(sd[k].shape) if k in sd else "absent"  # noqa: E731
    raise KilnError(
        f"Checkpoint {path}'s weights do not fit this run's network ({k} is {shape(saved)} "
        f"there, {shape(here)} here); {fix}."
    )


def _leaves(node, prefix: str) -> dict:
    """A nested config as {dotted key: value}; lists stay whole (model.hidden=[64, 64])."""
    if not isinstance(node, dict):
        return {prefix: node}
    out = {}
    for key, value in node.items():
        out.update(_leaves(value, f"{prefix}.{key}"))
    return out


RUN_LENGTH_KEYS = ("max_epochs", "max_steps", "accumulate_grad_batches")


def check_resume_length(ckpt: dict, path: str, cfg_trainer, scheduler_fn) -> None:
    """A schedule fitted to the run's total steps (one-cycle, warmup-cosine) cannot be resumed
    into a run of another length: one-cycle fails past its end, cosine jumps."""
    if scheduler_fn is None or not fills_total_steps(scheduler_fn):
        return  # no schedule, or one whose length the config fixes
    func = unwrap(scheduler_fn)
    old = ((ckpt["kiln"].get("config") or {}).get("trainer")) or {}
    changed = [k for k in RUN_LENGTH_KEYS if old.get(k) != cfg_trainer.get(k)]
    if changed:
        was = " ".join(f"trainer.{k}={old.get(k)}" for k in changed)
        raise KilnError(
            f"Checkpoint {path} was trained with {was} and its {func.__name__} schedule spans "
            f"that run; resume with {was}, or warm-start a longer run with "
            f"kiln retrain ckpt_path={path} trainer.max_epochs=<n>."
        )


def prepare_resume(ckpt: dict, ckpt_dir: Path) -> Path:
    """A copy of the checkpoint that resumes into this run's own checkpoint directory.

    Lightning forgets ModelCheckpoint's best score when the directory changes; kiln resumes
    into a new run directory (the old run stays untouched), so the checkpoint files the
    callbacks track are copied over and their state is pointed at the new directory.
    """
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for key, state in ckpt.get("callbacks", {}).items():
        if not key.startswith("ModelCheckpoint") or not state.get("dirpath"):
            continue
        moved = {}
        for old in {
            state.get(f) for f in ("best_model_path", "kth_best_model_path", "last_model_path")
        } | set(state.get("best_k_models", {})):
            if old and Path(old).is_file():
                new = ckpt_dir / Path(old).name
                if not new.exists():
                    atomic_files.write_with(new, lambda tmp, old=old: shutil.copy2(old, tmp))
                moved[old] = str(new)
        for field in ("best_model_path", "kth_best_model_path", "last_model_path"):
            if state.get(field) in moved:
                state[field] = moved[state[field]]
        state["best_k_models"] = {
            moved.get(k, k): v for k, v in state.get("best_k_models", {}).items()
        }
        state["dirpath"] = str(ckpt_dir)
    path = ckpt_dir / "resumed_from.ckpt"
    buffer = io.BytesIO()  # torch.save into a file turns a full disk into a RuntimeError
    torch.save(ckpt, buffer)
    atomic_files.write_bytes(path, buffer.getbuffer())
    return path


PACK_MIN = 64  # lists at least this long go into a checkpoint as one tensor


def pack(obj):
    """The profile for a checkpoint: long lists of numbers become float64 tensors.

    A profile holds tens of thousands of floats (a 1,001-point grid per numeric feature);
    pickled one by one they took 14 ms a checkpoint for 64 features, twice an epoch (best and
    last). As tensors they pickle as a few buffers and still load with ``weights_only``.
    ``unpack`` gives back the plain JSON (``read_checkpoint`` calls it).
    """
    if isinstance(obj, dict):
        return {k: pack(v) for k, v in obj.items()}
    if isinstance(obj, list):
        if len(obj) >= PACK_MIN and all(type(v) is float for v in obj):
            import torch

            return torch.tensor(obj, dtype=torch.float64)
        return [pack(v) for v in obj]
    return obj


def unpack(obj):
    """``pack`` undone: tensors back to lists of floats."""
    if isinstance(obj, dict):
        return {k: unpack(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unpack(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return obj.tolist()
    return obj
