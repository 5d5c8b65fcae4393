"""Defaults that follow the data: ``model=auto`` and ``monitor.*=auto`` become concrete once the
data module is set up and its InputSpec says the kind of data and the task.

With only a data source and a target (``kiln train data=table data.path=my.csv data.target=y``)
a table gets the MLP and a regression target gets val/rmse, where a fixed default (the digits
CNN, val/acc) refused both. An explicit ``model=<name>`` or ``monitor.*`` is never touched.
The resolved values go into the run's config.yaml and the checkpoint, so eval, export and
retrain of that checkpoint see a concrete model and monitor.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf, open_dict

from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models import finetune
from kiln.models.catalog import model_config, model_names, models_for
from kiln.training.metrics import improves

log = logging.getLogger("kiln")

AUTO = "auto"
# the model=auto choice per kind of data. tabular: TabM (docs/tables.md: chosen on a suite of
# 17 public tables, scripts/bench_tables.py); sequence: the GRU (the sunspots forecast experiment); tokens: the LSTM (the DNA motif
# experiment; the Transformer there needs a convolution stem to learn the motif)
DEFAULT_MODEL = {"image": "cnn", "tabular": "tabm", "sequence": "gru", "tokens": "lstm"}
# data=text (a subword tokenizer): averaged embeddings; on data/fortunes.csv with every other
# key at its default, test acc 0.40 against the LSTM's 0.28 (docs/text.md)
TEXT_MODEL = "bag_of_embeddings"
# compare's models=auto, per kind (baselines added where they fit the data's features)
COMPARE_MODELS = {
    "tabular": ["tabm", "mlp", "ft_transformer"],
    "image": ["cnn", "resnet"],
    "sequence": ["gru", "lstm", "transformer"],
    "tokens": ["bag_of_embeddings", "lstm", "gru", "transformer"],
}
# monitor.*=auto per task: accuracy for classes (val/f1 or val/auroc for imbalanced classes,
# set by hand), RMSE for numbers
DEFAULT_MONITOR = {
    "multiclass": "val/acc",
    "binary": "val/acc",
    "multilabel": "val/f1",
    "regression": "val/rmse",
    "forecast": "val/rmse",
}


def is_auto(value) -> bool:
    """``auto`` or unset (null)."""
    return value is None or str(value).lower() == AUTO


def model_is_auto(model) -> bool:
    """The model node is ``model=auto`` (conf/model/auto.yaml: a name, no class)."""
    return model is not None and "_target_" not in model and is_auto(model.get("name"))


def default_model(spec: InputSpec) -> str:
    """The ``model=`` choice for the data's kind."""
    name = DEFAULT_MODEL.get(spec.kind)
    if spec.kind == "tokens" and "tokenizer" in spec.extra:  # data=text: words, not letters
        name = TEXT_MODEL
    if name is None or name not in models_for(spec.kind):
        raise KilnError(
            f"model=auto has no default for {spec.kind} data; pick one with model=<name> "
            f"(one of {', '.join(model_names())})."
        )
    return name


def compare_models(spec: InputSpec) -> list[str]:
    """compare's ``models=auto``: kiln's models for the data's kind, then the baselines."""
    takes = set(models_for(spec.kind))
    return [n for n in COMPARE_MODELS.get(spec.kind, []) if n in takes] + ["baselines"]


def resolve_monitor(cfg: DictConfig, task: str) -> list[str]:
    """``monitor.metric`` / ``monitor.mode`` left at auto (or null) from the task; an explicit
    metric keeps its own direction. Returns what was chosen, for the log."""
    monitor = cfg.get("monitor")
    if monitor is None:
        return []
    chosen = []
    with open_dict(cfg):
        if is_auto(monitor.get("metric")):
            if task not in DEFAULT_MONITOR:
                raise KilnError(f"monitor.metric=auto has no default for a {task} task; set it.")
            monitor.metric = DEFAULT_MONITOR[task]
            chosen.append(f"monitor.metric={monitor.metric} (the {task} task's default)")
        if is_auto(monitor.get("mode")):
            mode = improves(str(monitor.metric))
            if mode is None:
                raise KilnError(
                    f"monitor.mode=auto cannot tell which way monitor.metric={monitor.metric} "
                    "improves; set monitor.mode=min or monitor.mode=max."
                )
            monitor.mode = mode
            chosen.append(f"monitor.mode={mode}")
    return chosen


def resolve_defaults(cfg: DictConfig, spec: InputSpec) -> list[str]:
    """Make ``model=auto`` and ``monitor.*=auto`` concrete for ``spec``, in place (the config's
    interpolations, e.g. the callbacks' ``${monitor.metric}``, then read the concrete values).
    Idempotent; logs and returns each choice made."""
    chosen = []
    model = cfg.get("model")
    if model is not None and "_target_" in model and model.get("name") == AUTO:
        kept = finetune.given(model)
        with open_dict(cfg):  # +model._target_=<a user's class> over model=auto: not its keys
            for key in ("name", *finetune.KEYS):
                if key in cfg.model and key not in kept:
                    cfg.model.pop(key)
    if model_is_auto(cfg.get("model")):
        name = default_model(spec)
        kept = finetune.given(cfg.model)
        with open_dict(cfg):  # model.init_from & co. (kiln.models.finetune) stay
            cfg.model = OmegaConf.create({**model_config(name), **kept})
        chosen.append(f"model={name} (the default for {spec.kind} data)")
    chosen += resolve_monitor(cfg, spec.task)
    for line in chosen:
        log.info("defaults for %s: %s", spec.dataset, line)
    return chosen
