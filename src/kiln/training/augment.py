"""Augmentation of whole training batches on the training device (``augment=`` config group).

A batch of uint8 images (N, H, W, C) comes off the cache, is flipped there (kiln's own
index copy: a quarter of the float batch's bytes), becomes float (N, C, H, W) on the 0..1
scale as ``ImageInput.to_float`` makes it, kornia's batch ops (random resized crop, affine,
colour jitter, erasing) change it, and the model's ``ImageInput`` normalizes
it as it does any float batch. Only ``KilnModule.training_step`` calls this: validation, test,
prediction and export never see it, and it holds no state, so no checkpoint carries it.

Seeded: each batch's draws come from a generator seeded by (seed, optimizer step, micro-batch,
rank), so a resumed run augments each batch as the uninterrupted run did. Mixup and cutmix
(kiln's own few lines: one Beta draw and one permutation a batch) give soft targets, which the
cross-entropy takes as class probabilities.
"""

from __future__ import annotations

import logging
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor, nn

from kiln.config import CONFIG_MODULE
from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.preprocessing.images import ImageInput

log = logging.getLogger("kiln")

PRESETS = ("none", "light", "standard", "strong")
KEYS = (
    "crop", "crop_scale", "flip", "affine", "rotate", "translate", "jitter", "brightness",
    "contrast", "saturation", "hue", "erasing", "mixup", "cutmix",
)  # fmt: skip


def image_input(preprocessor: nn.Module | None) -> ImageInput | None:
    """The preprocessor's ImageInput (uint8 NHWC in): the data augmentation works on."""
    if preprocessor is None:
        return None
    return next((m for m in preprocessor.modules() if isinstance(m, ImageInput)), None)


def resolve_augment(cfg: DictConfig, preprocessor: nn.Module | None) -> str | None:
    """``augment=auto`` made concrete, in place: light for image files (an ImageInput takes
    uint8 pixels), none for other data. Returns the choice, for the log."""
    node = cfg.get("augment")
    if node is None or str(node.get("name", "")) != "auto":
        return None
    name = "light" if image_input(preprocessor) is not None else "none"
    given = {k: v for k, v in node.items() if k != "name" and v is not None}
    with open_dict(cfg):
        cfg.augment = OmegaConf.create({**preset(name), **given})
    log.info(
        "defaults: augment=%s (%s)", name, "image files" if name != "none" else "no image files"
    )
    return name


def preset(name: str) -> dict:
    """conf/augment/<name>.yaml as plain data, the presets it builds on under it."""
    text = resources.files(CONFIG_MODULE).joinpath("augment", f"{name}.yaml").read_text()
    node = yaml.safe_load(text) or {}
    merged: dict = {}
    for parent in node.pop("defaults", None) or []:
        if parent != "_self_":
            merged.update(preset(str(parent)))
    return {**merged, **node}


def build_augment(node, preprocessor: nn.Module | None, spec: InputSpec) -> BatchAugment | None:
    """The batch augmentation the ``augment`` node asks for, or None when it asks for none."""
    if node is None:
        return None
    unknown = [k for k in node if k not in (*KEYS, "name")]
    if unknown:
        raise KilnError(
            f"augment.{unknown[0]} is not an augmentation key; use one of {', '.join(KEYS)}."
        )
    ops = {k: node.get(k) for k in KEYS}
    active = [
        k for k in ("crop", "flip", "affine", "jitter", "erasing", "mixup", "cutmix") if ops[k]
    ]
    if not active:
        return None
    found = image_input(preprocessor)
    if found is None:
        raise KilnError(
            f"augment={node.get('name', 'custom')} augments image files (data=images) and this "
            "data has none; use augment=none."
        )
    if (ops["mixup"] or ops["cutmix"]) and spec.task != "multiclass":
        raise KilnError(
            f"augment.mixup and augment.cutmix mix class targets and this is a {spec.task} "
            "task; set augment.mixup=0 augment.cutmix=0."
        )
    try:
        return BatchAugment(found, spec.num_outputs, **ops)
    except (TypeError, ValueError) as err:  # kornia's own range checks (hue above 0.5, ...)
        raise KilnError(
            f"Could not build augment={node.get('name')} ({err}); check the augment.* values."
        ) from None


def _pair(value, name: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise KilnError(
            f"augment.{name}={value!r} must be a pair [low, high]; e.g. [0.8, 1.0]."
        ) from None
    if not 0 < low <= high:
        raise KilnError(
            f"augment.{name}={value!r} must be a pair 0 < low <= high; e.g. [0.8, 1.0]."
        )
    return low, high


class BatchAugment:
    """The ops of one ``augment`` node, applied in order to float (N, C, H, W) batches.

    Not an nn.Module on purpose: it has no weights and must not enter the state dict.
    """

    def __init__(self, image_input: ImageInput, classes: int, **ops) -> None:
        import kornia.augmentation as K

        self.image_input, self.classes = image_input, classes
        self.ops: list[nn.Module] = []
        self.size: tuple[int, int] | None = None  # the crop's output size: the batch's own
        self.crop_p, self.crop_scale = (
            float(ops["crop"] or 0),
            _pair(ops["crop_scale"] or (1, 1), "crop_scale"),
        )
        self.flip = float(ops["flip"] or 0)  # done on the uint8 batch: 4x fewer bytes to move
        if ops["affine"]:
            t = float(ops["translate"] or 0)
            self.ops.append(
                K.RandomAffine(
                    degrees=float(ops["rotate"] or 0), translate=(t, t), p=float(ops["affine"])
                )
            )
        if ops["jitter"]:
            strengths = [
                float(ops[k] or 0) for k in ("brightness", "contrast", "saturation", "hue")
            ]
            self.ops.append(K.ColorJitter(*strengths, p=float(ops["jitter"])))
        if ops["erasing"]:
            self.ops.append(K.RandomErasing(p=float(ops["erasing"])))
        self.mixup, self.cutmix = float(ops["mixup"] or 0), float(ops["cutmix"] or 0)
        self._crop: nn.Module | None = None

    def _crop_op(self, size: tuple[int, int]) -> nn.Module:
        if self._crop is None or self.size != size:
            import kornia.augmentation as K

            self.size = size
            self._crop = K.RandomResizedCrop(size, scale=self.crop_scale, p=self.crop_p)
        return self._crop

    def __call__(self, x: Tensor, y: Tensor, seed: int) -> tuple[Tensor, Tensor | None]:
        """(augmented float batch, soft targets or None), every draw from ``seed``."""
        devices = [x.device.index or 0] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.random.default_generator.manual_seed(seed)
            if devices:
                torch.cuda.manual_seed(seed)
            with torch.no_grad():
                if self.flip:
                    x = self._flip(x)
                if x.dtype == torch.uint8:  # ImageInput.to_float's result, divided in place
                    x = x.permute(0, 3, 1, 2).to(self.image_input.mean.dtype).div_(255.0)
                if self.crop_p:
                    x = self._crop_op(tuple(x.shape[-2:]))(x)
                for op in self.ops:
                    x = op(x)
                return self._mix(x, y)

    def _flip(self, x: Tensor) -> Tensor:
        """Each image flipped left-right with probability ``flip`` (a copy: the batch may be
        a view of the cache). uint8 (N, H, W, C) or float (N, C, H, W)."""
        rows = (torch.rand(len(x)) < self.flip).nonzero().squeeze(1).to(x.device)
        width = 2 if x.dtype == torch.uint8 else 3
        return x.index_copy(0, rows, x.index_select(0, rows).flip(width))

    def _mix(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
        """Mixup or cutmix (one of them a batch when both are on) with soft targets."""
        alphas = [a for a in (self.mixup, self.cutmix) if a > 0]
        if not alphas or len(x) < 2:
            return x, None
        cut = bool(self.cutmix) and (not self.mixup or torch.rand(()) < 0.5)
        alpha = self.cutmix if cut else self.mixup
        lam = float(np.clip(torch.distributions.Beta(alpha, alpha).sample(), 0.0, 1.0))
        order = torch.randperm(len(x)).to(x.device)
        if cut:
            h, w = x.shape[-2:]
            ch, cw = round(h * (1 - lam) ** 0.5), round(w * (1 - lam) ** 0.5)
            top, left = (int(torch.randint(0, s - c + 1, ())) for s, c in ((h, ch), (w, cw)))
            x = x.clone()
            x[..., top : top + ch, left : left + cw] = x[order][
                ..., top : top + ch, left : left + cw
            ]
            lam = 1 - ch * cw / (h * w)
        else:
            x = x * lam + x[order] * (1 - lam)
        one_hot = F.one_hot(y.long(), self.classes).to(x.dtype)
        return x, one_hot * lam + one_hot[order] * (1 - lam)


def augment_seed(seed: int, step: int, micro_batch: int, rank: int) -> int:
    """One 63-bit seed per (run seed, optimizer step, micro-batch, rank)."""
    state = np.random.SeedSequence([seed, step, micro_batch, rank]).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])
