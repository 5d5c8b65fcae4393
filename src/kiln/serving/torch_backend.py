"""format=torch: rebuild the pipeline from kiln's own classes and safetensors weights (no pickle).

Needs kiln's training code (models, preprocessing) importable; the ONNX artifact does not.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from kiln.errors import KilnError

# standard torch.nn classes an artifact may name (token models' preprocessor is nn.Identity);
# an explicit list, never an arbitrary import
TORCH_NN = {"torch.nn.modules.linear.Identity"}


def _rebuildable(path: str) -> bool:
    """One of the torch.nn classes above, or a class kiln defines (never a function it would call)."""
    from kiln.config.trust import kiln_class

    return path in TORCH_NN or kiln_class(path)


def _class(path: str):
    if path in TORCH_NN:
        import torch.nn

        return getattr(torch.nn, path.rpartition(".")[2])
    if not _rebuildable(path):
        raise KilnError(
            f"Artifact names class {path!r} outside kiln; export it again with kiln export."
        )
    mod, _, name = path.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def check_rebuildable(path: str) -> None:
    """Export refuses format=torch up front for a preprocessor the loader could not rebuild."""
    if not _rebuildable(path):
        raise KilnError(
            f"format=torch cannot rebuild this model's preprocessor ({path}) without its data; export it with format=onnx."
        )


def preprocessor(meta: dict, spec):
    """An empty preprocessor of the exported structure, for load_state_dict: a table's
    (kiln.data.table) from the layout stored in the spec, the others from no arguments."""
    path = meta["torch"]["preprocessor"]
    cls = _class(path)
    layout = spec.extra.get("layout")
    if layout is not None and hasattr(cls, "from_layout"):
        return cls.from_layout(layout)
    try:
        return cls()
    except TypeError:
        raise KilnError(
            f"format=torch cannot rebuild {path} without its data; export with format=onnx."
        ) from None


def torch_runner(meta: dict, weights: bytes, threads: int, trust=None, where: Path | None = None):
    """The artifact's model as a function of input arrays. ``weights``: the safetensors file's
    bytes, as checked against their hash; the stored config is checked against the allow-list
    (kiln.config.trust) before anything is built from it."""
    import torch

    from kiln.serving.export import ExportPipeline

    if threads > 0:
        torch.set_num_threads(int(threads))
    pipeline = ExportPipeline(torch_pipeline(meta, weights, trust, where)).eval()

    def run(inputs: list[np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return pipeline(*(torch.from_numpy(a) for a in inputs)).numpy()

    return run


def torch_pipeline(meta: dict, weights: bytes, trust=None, where: Path | None = None):
    """The artifact's InferencePipeline (preprocessor, network, head) in evaluation mode."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from safetensors.torch import load

    from kiln.config.trust import Trust, check_stored

    if not isinstance(trust, Trust):
        trust = Trust(trust or ())
    source = f"Artifact {where / 'metadata.json'}" if where is not None else "The artifact"
    check_stored(meta.get("config") or {}, source, trust)
    _class(str((meta.get("torch") or {}).get("preprocessor")))  # refused here, before building

    from kiln.data.spec import InputSpec
    from kiln.models import build_network
    from kiln.models.finetune import architecture
    from kiln.models.pipeline import InferencePipeline

    spec = InputSpec.from_dict(meta["spec"])
    model = architecture(meta["config"]["model"])  # without model.init_from & co.
    network = build_network(instantiate(OmegaConf.create(model)), spec)
    module = InferencePipeline(network, spec, preprocessor(meta, spec))
    module.load_state_dict(load(weights), strict=True)
    return module.eval()
