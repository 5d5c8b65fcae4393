"""Fine-tuning from weights a user has on disk: ``model.init_from``, ``model.init_strict`` and
``model.freeze``. Nothing can be downloaded at run time, so a starting point is a kiln
checkpoint (read with ``weights_only``) or a ``.safetensors`` file; neither runs pickled code.

These keys configure how a network starts, not what it is, so they are taken out of the
model node before its class is built (``architecture``).
"""

from __future__ import annotations

import fnmatch
import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from kiln.errors import KilnError

log = logging.getLogger("kiln")

KEYS = ("init_from", "init_strict", "freeze")
PREFIX = "network."  # a kiln checkpoint's (and a format=torch artifact's) names for the network


def architecture(node):
    """The model node without the fine-tuning keys: what the model class is built from."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(node, DictConfig):
        if not any(k in node for k in KEYS):
            return node
        plain = OmegaConf.to_container(node, resolve=False)
        return OmegaConf.create({k: v for k, v in plain.items() if k not in KEYS})
    if isinstance(node, dict):
        return {k: v for k, v in node.items() if k not in KEYS}
    return node


def given(node) -> dict:
    """The fine-tuning keys of a model node set to other than their defaults (null, true, [])."""
    defaults = {"init_from": None, "init_strict": True, "freeze": []}
    return {k: node[k] for k in KEYS if k in node and node[k] != defaults[k]}


def read_weights(path: str) -> dict[str, Tensor]:
    """The network's tensors in a kiln checkpoint or a .safetensors file, by network name."""
    p = Path(path)
    if not p.is_file():
        raise KilnError(
            f"model.init_from={path} is not a file; pass a kiln checkpoint (.ckpt) or a "
            ".safetensors file."
        )
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p))
        else:
            ckpt = torch.load(p, map_location="cpu", weights_only=True)
            state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
            if not isinstance(state, dict):
                raise ValueError("no state_dict")
    except Exception as err:  # a truncated file, a pickle with code, no checkpoint at all
        raise KilnError(
            f"model.init_from={path} could not be read as weights ({type(err).__name__}); pass "
            "a .ckpt written by kiln train or a .safetensors file."
        ) from None
    if any(k.startswith(PREFIX) for k in state):
        state = {k[len(PREFIX) :]: v for k, v in state.items() if k.startswith(PREFIX)}
    return {k: v for k, v in state.items() if isinstance(v, Tensor)}


def load_initial_weights(network: nn.Module, path: str, strict: bool = True) -> str:
    """Copy the weights in ``path`` into ``network``: all of them (``strict``), or those whose
    names and shapes match. Returns the one line that says what was loaded and skipped."""
    given = read_weights(path)
    own = network.state_dict()
    fits = {k: v for k, v in given.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    reshaped = [k for k in given if k in own and k not in fits]
    absent = [k for k in own if k not in given]
    extra = [k for k in given if k not in own]
    if strict and (reshaped or absent or extra):
        first = reshaped[:1] or absent[:1] or extra[:1]
        why = (
            f"{first[0]} is {list(given[first[0]].shape)} there and {list(own[first[0]].shape)} here"
            if reshaped
            else f"{first[0]} is missing from the file"
            if absent
            else f"the file has {first[0]}, which the model lacks"
        )
        raise KilnError(
            f"model.init_from={path} does not match the model ({len(reshaped)} shapes differ, "
            f"{len(absent)} missing, {len(extra)} extra: {why}); pass model.init_strict=false "
            "to load the tensors whose names and shapes match."
        )
    if not fits:
        raise KilnError(
            f"model.init_from={path} has no tensor whose name and shape match the model's (e.g. "
            f"{next(iter(own), '?')}); pass weights of the same model class."
        )
    with torch.no_grad():
        for name, tensor in fits.items():
            own[name].copy_(tensor.to(own[name].dtype))
    skipped = reshaped + extra
    line = f"model.init_from={path}: loaded {len(fits)} of {len(own)} tensors"
    if skipped:
        line += f"; skipped {len(skipped)} from the file ({', '.join(skipped[:4])}"
        line += ", ...)" if len(skipped) > 4 else ")"
    fresh = [k for k in own if k not in fits]
    if fresh:
        line += f"; {len(fresh)} keep their fresh values ({', '.join(fresh[:4])}"
        line += ", ...)" if len(fresh) > 4 else ")"
    return line


def matches(name: str, pattern: str) -> bool:
    """A parameter name against a ``model.freeze`` pattern; ``stem`` takes ``stem.0.weight``."""
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, pattern + ".*")


def freeze(network: nn.Module, patterns) -> list[str]:
    """``requires_grad=False`` for each parameter a pattern matches (kept out of the optimizer),
    and returns the names of the norm layers left wholly frozen: they keep their running
    statistics in training too (``frozen_norms``). A pattern that matches nothing is refused."""
    patterns = [str(p) for p in (patterns or [])]
    names = [n for n, _ in network.named_parameters()]
    for pattern in patterns:
        if not any(matches(n, pattern) for n in names):
            raise KilnError(
                f"model.freeze pattern {pattern!r} matches no parameter of the model; names look "
                f"like {', '.join(names[:3])} (fnmatch patterns, e.g. model.freeze=[{names[0].split('.')[0]}])."
            )
    frozen = 0
    for name, param in network.named_parameters():
        if any(matches(name, p) for p in patterns):
            param.requires_grad_(False)
            frozen += 1
    if frozen:
        log.info("model.freeze: %d of %d parameter tensors frozen", frozen, len(names))
    return [name for name, _ in frozen_norms(network)]


def frozen_norms(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """Batch-norm layers whose parameters are all frozen: training leaves their statistics be."""
    out = []
    for name, module in network.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                out.append((name, module))
    return out
