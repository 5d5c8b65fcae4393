"""The schema of each command's config (conf/<command>.yaml): its top-level keys and nodes.

A key left out here is a string, a path or a free-form node that the command reads as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiln.config.schema import nodes
from kiln.config.schema.fields import flag, integer, number


def _node(cls):
    return field(default_factory=cls)


@dataclass
class Train:
    seed: int | None = integer("42", min=0)
    monitor: nodes.Monitor = _node(nodes.Monitor)
    cv: nodes.CV = _node(nodes.CV)
    compile: bool | None = flag()
    threads: int | None = integer("1", min=0)  # null: by model size (kiln.training.threads)
    test: bool | None = flag()
    calibrate: bool | None = flag(words=("auto",))  # temperature scaling (training.calibration)
    report: bool | None = flag(words=("auto",))  # the evaluation report (kiln.reporting)
    eval: nodes.EvalReport = _node(nodes.EvalReport)
    print_config: bool | None = flag()
    data: nodes.Data = _node(nodes.Data)
    optimizer: nodes.Optimizer = _node(nodes.Optimizer)
    scheduler: nodes.Scheduler = _node(nodes.Scheduler)
    model: nodes.Model = _node(nodes.Model)
    trainer: nodes.Trainer = _node(nodes.Trainer)
    callbacks: nodes.Callbacks = _node(nodes.Callbacks)
    preprocess: nodes.Preprocess = _node(nodes.Preprocess)
    augment: nodes.Augment = _node(nodes.Augment)


@dataclass
class Compare(Train):
    pass


@dataclass
class Sweep(Train):
    sweep: nodes.Sweep = _node(nodes.Sweep)


@dataclass
class Retrain(Train):
    from_scratch: bool | None = flag()
    refit_preprocessing: bool | None = flag()
    refit_profile: bool | None = flag()


@dataclass
class Eval:
    report: bool | None = flag(words=("auto",))
    eval: nodes.EvalReport = _node(nodes.EvalReport)
    data: nodes.Data = _node(nodes.Data)
    trainer: nodes.Trainer = _node(nodes.Trainer)


@dataclass
class Export:
    tolerance: float | None = number("1e-4", min=0)
    threads: int | None = integer("1", min=0)  # 0: the runtime's own choice (all cores)


@dataclass
class Predict:
    overwrite: bool | None = flag()
    chunk_rows: int | None = integer("65536", min=1)
    threads: int | None = integer("1", min=0)


@dataclass
class Serve:
    port: int | None = integer("8000", min=0, max=65535)
    max_rows: int | None = integer("1024", min=1)
    max_body_bytes: int | None = integer("1048576", min=1)
    graceful_timeout_s: int | None = integer("30", min=0)
    body_timeout_s: float | None = number("10", min=0)
    keep_alive_s: float | None = number("5", min=0)
    threads: int | None = integer("1", min=0)
    access_log: bool | None = flag()
    explain: bool | None = flag()
    batching: nodes.Batching = _node(nodes.Batching)
    drift: nodes.ServeDrift = _node(nodes.ServeDrift)


@dataclass
class Drift:
    predictions: bool | None = flag()
    workers: int | None = integer("0", min=0)
    max_plots: int | None = integer("100", min=0)
    thresholds: nodes.Thresholds = _node(nodes.Thresholds)


@dataclass
class Tensorboard:
    port: int | None = integer("6006", min=0, max=65535)
    reload_interval: int | None = integer("5", min=0)  # 0: TensorBoard loads once


SCHEMAS = {
    "train": Train,
    "compare": Compare,
    "sweep": Sweep,
    "retrain": Retrain,
    "eval": Eval,
    "export": Export,
    "predict": Predict,
    "serve": Serve,
    "drift": Drift,
    "tensorboard": Tensorboard,
}
