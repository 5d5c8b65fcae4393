"""What drift is measured on: named features computed from a model's raw inputs.

Tables give one feature per column (numeric values, or category codes with their labels).
Images give per-image, per-channel intensity mean and std plus a few principal components of
the (pooled) pixels, fitted on the training split: brightness, contrast and content shifts
all move them, and a handful of numbers stand for thousands of pixels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MAX_POOL_SIDE = 8  # images are average-pooled to at most 8x8 per channel before the PCA
CHUNK = 1024  # images featurized at a time (a float copy of a whole training split is large)


class Featurizer:
    """Raw model inputs -> ({numeric name: float array}, {categorical name: int codes}).

    ``kind`` is "tabular" (one float matrix), "schema" (x_num, x_cat from a table schema)
    or "image" (N, C, H, W). ``labels`` maps each categorical feature to its code labels, in
    the order of the x_cat columns (the schema's file order). That order is saved as its own
    list (``categorical_order``): metadata.json is written with sorted keys, and a featurizer
    that took the mapping's order from it read the columns alphabetically, i.e. swapped.
    ``pixel_range`` (images): the raw values that stand for black and white, so image files
    can be put on the training data's scale. ``layout`` (images): "NCHW" floats, or "NHWC" for
    a model that takes uint8 pixels (data=images), whose features are on the 0..255 scale.
    """

    def __init__(self, kind: str, numeric: list[str], categorical: dict[str, list[str]] | None = None,
                 pca: dict | None = None, pixel_range: list[float] | None = None,
                 layout: str = "NCHW") -> None:  # fmt: skip
        self.kind = kind
        self.layout = layout
        self.numeric = list(numeric)
        self.labels = dict(categorical or {})
        self.pca = pca
        self.pixel_range = None if pixel_range is None else [float(v) for v in pixel_range]

    # -- building -----------------------------------------------------------------------
    @classmethod
    def for_data(cls, dm, inputs: list[torch.Tensor], components: int = 4) -> Featurizer:
        """The featurizer of a data module, fitted (PCA) on its training inputs."""
        spec = dm.spec
        schema = getattr(dm, "schema", None)
        if schema is not None:
            labels = {
                c.name: ["<unknown>", "<missing>", *map(str, c.vocab)]
                for c in schema.columns
                if c.type == "categorical"
            }
            return cls("schema", [f for f, _, _ in schema.numeric_features], labels)
        if spec.kind == "image" and "image" in spec.extra:  # uint8 (N, H, W, C) files
            return cls.fit_image(inputs[0], components, [0.0, 255.0], layout="NHWC")
        if spec.kind == "image":
            return cls.fit_image(inputs[0], components, getattr(dm, "pixel_range", None))
        names = getattr(dm, "feature_names", None) or [f"x{i}" for i in range(spec.shape[0])]
        return cls("tabular", list(names))

    @classmethod
    def fit_image(cls, x: torch.Tensor, components: int, pixel_range=None,
                  layout: str = "NCHW") -> Featurizer:  # fmt: skip
        """``pixel_range``: the data's black and white (a data module's ``pixel_range``);
        without one, the smallest and largest training value."""
        if pixel_range is None:
            pixel_range = [float(x.min()), float(x.max())]
        pooled = _pool(x, layout)
        mean = pooled.mean(0)
        k = max(0, min(int(components), pooled.shape[1], pooled.shape[0] - 1))
        _, _, vt = torch.linalg.svd(pooled - mean, full_matrices=False)
        pca = {"mean": mean.tolist(), "components": vt[:k].tolist()}
        channels = x.shape[3 if layout == "NHWC" else 1]
        names = [f"channel{c}_{s}" for c in range(channels) for s in ("mean", "std")]
        return cls("image", names + [f"pca{i}" for i in range(k)], pca=pca,
                   pixel_range=pixel_range, layout=layout)  # fmt: skip

    def to_dict(self) -> dict:
        return {"kind": self.kind, "numeric": self.numeric, "categorical": self.labels,
                "categorical_order": list(self.labels),
                "pca": self.pca, "pixel_range": self.pixel_range, "layout": self.layout}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> Featurizer:
        labels = d.get("categorical") or {}
        order = d.get("categorical_order") or list(labels)  # a checkpoint's dict keeps its order
        labels = {name: labels[name] for name in order}
        return cls(d["kind"], d["numeric"], labels, d.get("pca"), d.get("pixel_range"),
                   d.get("layout") or "NCHW")  # fmt: skip

    # -- using --------------------------------------------------------------------------
    def __call__(self, inputs: list) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if self.kind == "image":
            x = torch.as_tensor(inputs[0])
            parts = [
                self._image(_nchw(x[i : i + CHUNK], self.layout)) for i in range(0, len(x), CHUNK)
            ] or [self._image(_nchw(x, self.layout))]
            return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, {}
        x_num = np.asarray(inputs[0])
        num = {name: x_num[:, i] for i, name in enumerate(self.numeric)}
        cat = {}
        if self.labels:
            x_cat = np.asarray(inputs[1])
            cat = {name: x_cat[:, i] for i, name in enumerate(self.labels)}
        return num, cat

    def _image(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        flat = x.flatten(2).double()
        out = {}
        for c in range(x.shape[1]):
            out[f"channel{c}_mean"] = flat[:, c].mean(1).numpy()
            out[f"channel{c}_std"] = flat[:, c].std(1, unbiased=False).numpy()
        comps = torch.tensor(self.pca["components"], dtype=torch.float64)
        if len(comps):
            proj = (_pool(x) - torch.tensor(self.pca["mean"], dtype=torch.float64)) @ comps.T
            for i in range(proj.shape[1]):
                out[f"pca{i}"] = proj[:, i].numpy()
        return out


def _nchw(x: torch.Tensor, layout: str) -> torch.Tensor:
    """float32 (N, C, H, W) from either layout (uint8 NHWC pixels keep their 0..255 scale)."""
    return (x.permute(0, 3, 1, 2) if layout == "NHWC" else x).to(torch.float32)


def _pool(x: torch.Tensor, layout: str = "NCHW") -> torch.Tensor:
    """(N, C, H, W) (or NHWC) -> (N, C*h*w) with h, w <= MAX_POOL_SIDE, in float64, in chunks."""
    parts = []
    for i in range(0, max(len(x), 1), CHUNK):
        part = _nchw(x[i : i + CHUNK], layout)
        h, w = min(part.shape[2], MAX_POOL_SIDE), min(part.shape[3], MAX_POOL_SIDE)
        parts.append(F.adaptive_avg_pool2d(part, (h, w)).flatten(1).double())
    return torch.cat(parts)


def restore_order(profile: dict | None, schema: dict | None) -> None:
    """Give a profile read from JSON without ``categorical_order`` (an artifact exported before
    it was kept) the x_cat order of its schema, so its categorical columns are not swapped."""
    feat = (profile or {}).get("featurizer") or {}
    if feat.get("kind") == "schema" and "categorical_order" not in feat and schema:
        feat["categorical_order"] = [
            c["name"] for c in schema["columns"] if c["type"] == "categorical"
        ]


def category_counts(codes: np.ndarray, labels: list[str]) -> dict[str, int]:
    """Counts per category label for integer codes (codes beyond the labels count as unknown)."""
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(np.clip(codes, 0, len(labels)), minlength=len(labels) + 1)
    out = {lab: int(c) for lab, c in zip(labels, counts[: len(labels)], strict=True)}
    if counts[len(labels)]:
        out["<out of range>"] = int(counts[len(labels)])
    return out
