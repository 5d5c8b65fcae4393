"""Compare a batch of new data with the reference profile of a checkpoint or an artifact.

Writes drift.json, report.html and a PNG per drifted feature to the run directory, prints the
table, and returns the report with ``exit_code`` 0 (no drift) or 3 (drift found), which the
CLI exits with so a scheduler can act on it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from kiln.config.trust import trust_from
from kiln.errors import KilnError
from kiln.monitoring.detect import compare
from kiln.monitoring.features import Featurizer, category_counts
from kiln.monitoring.inputs import read_inputs
from kiln.monitoring.profile import prediction_values
from kiln.monitoring.report import print_table, write_reports

log = logging.getLogger("kiln")
DRIFT_EXIT = 3


def load_reference(cfg: DictConfig) -> tuple[dict, dict, dict | None, object]:
    """(profile, spec, schema, predict function or None) from ckpt_path or artifact."""
    if cfg.get("artifact"):
        from kiln.serving.predictor import load

        # checks the files against their hashes (and the signature, with a key set)
        predictor = load(cfg.artifact, trust_targets=trust_from(cfg))
        meta = predictor.meta
        if not meta.get("profile"):
            raise KilnError(
                f"Artifact {cfg.artifact} has no reference profile; export it again with this kiln from a checkpoint trained with callbacks.reference_profile."
            )
        inputs = meta["inputs"]
        schema = inputs["schema"] if inputs["kind"] == "schema" else None
        predict = predictor.run if cfg.get("predictions", True) else None
        return meta["profile"], meta["spec"], schema, predict
    from kiln.training.checkpoints import load_checkpoint

    ckpt = load_checkpoint(cfg.get("ckpt_path"), trust_from(cfg))
    meta = ckpt["kiln"]
    if not meta.get("profile"):
        raise KilnError(
            f"Checkpoint {cfg.ckpt_path} has no reference profile; train it again with callbacks.reference_profile (the default)."
        )
    predict = model_predictor(ckpt, cfg.get("data")) if cfg.get("predictions", True) else None
    return meta["profile"], meta["spec"], meta.get("schema"), predict


def model_predictor(ckpt: dict, data=None):
    """The checkpoint's model as a function: list of input arrays -> predictions (numpy).

    Built from the checkpoint alone where it can be: the network from the stored config and
    spec, a table's preprocessor from the layout in the spec (its fitted values, and the
    target's scale, come with the weights). Other preprocessors are fitted objects kiln only
    builds from their data module: that data comes from the checkpoint's config (``data``:
    the command's ``+data.*`` overrides, e.g. +data.path=), named in the message when missing.
    """
    from kiln.data.spec import InputSpec
    from kiln.models import build_network
    from kiln.models.finetune import architecture
    from kiln.preprocessing.tabular import TabularPreprocessor
    from kiln.training.builders import (
        build,
        build_checkpoint_datamodule,
        build_module,
        checkpoint_config,
    )
    from kiln.training.module import KilnModule

    meta = ckpt["kiln"]
    spec = InputSpec.from_dict(meta["spec"])
    layout = spec.extra.get("layout")
    if layout is not None or "image" in spec.extra:  # rebuilt from the weights alone
        from kiln.preprocessing.images import ImageInput

        train_cfg = OmegaConf.create(meta["config"])
        network = build_network(build(architecture(train_cfg.model), "model"), spec)
        pre = TabularPreprocessor.from_layout(layout) if layout is not None else ImageInput()
        module = KilnModule(network=network, spec=spec, preprocessor=pre)
    else:
        train_cfg = checkpoint_config(ckpt, data)
        dm = build_checkpoint_datamodule(train_cfg.data, "drift", data)  # the preprocessor
        module = build_module(train_cfg, dm, run_config=meta["config"])
    module.load_state_dict(ckpt["state_dict"], strict=True)
    module.eval()

    def predict(inputs: list[np.ndarray], batch: int = 8192) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for i in range(0, len(inputs[0]), batch):
                xs = [torch.from_numpy(np.ascontiguousarray(a[i : i + batch])) for a in inputs]
                x = xs[0] if len(xs) == 1 else tuple(xs)
                out.append(module.to_prediction(module.raw_output(x)).numpy())
        return np.concatenate(out)

    return predict


def run(cfg: DictConfig) -> dict:
    exit_on = cfg.get("exit_on", "any")  # checked before the reference and the input are read
    if exit_on not in ("any", "dataset"):
        raise KilnError(
            f"exit_on={exit_on!r} is not a rule; use any (any feature or prediction) or dataset."
        )
    profile, spec, schema, predict = load_reference(cfg)
    featurizer = Featurizer.from_dict(profile["featurizer"])
    inputs = read_inputs(cfg.get("input"), featurizer, spec, schema, cfg.get("sep"))
    num, cat = featurizer(inputs)
    predictions = None
    if predict is not None:
        predictions = prediction_values(predict(inputs), spec["task"], spec.get("class_names"))
    th = OmegaConf.to_container(cfg.thresholds, resolve=True)
    report = compare(
        profile, num, cat, featurizer.labels, predictions, th, int(cfg.get("workers", 0))
    )
    report["input"] = str(cfg.input)
    report["reference"] = str(cfg.get("artifact") or cfg.get("ckpt_path"))
    found = report["dataset_drift"] if exit_on == "dataset" else report["drift"]
    report["exit_code"] = DRIFT_EXIT if found else 0
    out_dir = Path(cfg.paths.output_dir)
    data = dict(num)
    data.update({n: category_counts(c, featurizer.labels[n]) for n, c in cat.items()})
    if predictions is not None:
        values, labels = predictions
        data["<prediction>"] = values if labels is None else category_counts(values, labels)
    paths = write_reports(out_dir, report, profile, data, int(cfg.get("max_plots", 100)))
    print_table(
        report, f"kiln drift: {Path(cfg.input).name} ({report['rows']} rows) vs the reference"
    )
    log.info("drift report: %s", paths["html"])
    return report
