"""Schemas of the config nodes inside a command's config: kiln's own (monitor, cv, sweep,
serve's batching and drift, the drift thresholds) and the keys kiln owns in nodes built from
a ``_target_`` (data kinds, optimizer, scheduler, trainer, model, callbacks). A ``_target_``
node's other keys are its class's signature's to judge (``kiln.config.checks.check_targets``).

Every field is optional here: the YAML in conf/ holds the defaults (absent or null passes),
except the drift thresholds, whose defaults live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from kiln.config.schema.fields import flag, integer, number


@dataclass
class Monitor:
    metric: str | None = None
    mode: str | None = None


@dataclass
class CV:
    folds: int | None = integer("5", min=0)  # train: validation folds
    test_folds: int | None = integer("5", min=1, words=("auto",))  # compare: test folds
    mode: str | None = None


@dataclass
class Thresholds:
    """The drift tests' thresholds (``thresholds.*`` in kiln drift, ``drift.thresholds.*`` in
    kiln serve); ``kiln.monitoring.detect.DEFAULTS`` is ``asdict(Thresholds())``."""

    closed: ClassVar[str] = "a drift threshold"  # a key not named here is refused
    small_reference_rows: int = field(default=1000, metadata={"eg": "1000", "min": 0})
    ks_pvalue: float = field(default=0.05, metadata={"eg": "0.05", "min": 0, "max": 1})
    bonferroni: bool = field(default=True, metadata={"eg": "true"})
    wasserstein: float = field(default=0.1, metadata={"eg": "0.1", "min": 0})
    psi: float | None = field(default=None, metadata={"eg": "0.25", "min": 0})
    chi2_pvalue: float = field(default=0.05, metadata={"eg": "0.05", "min": 0, "max": 1})
    jensenshannon: float = field(default=0.1, metadata={"eg": "0.1", "min": 0, "max": 1})
    dataset_share: float = field(default=0.5, metadata={"eg": "0.5", "min": 0, "max": 1})


THRESHOLD_DEFAULTS = asdict(Thresholds())


@dataclass
class Batching:
    enabled: bool | None = flag()
    max_batch_size: int | None = integer("64", min=1)
    max_wait_ms: float | None = number("2.0", min=0)


@dataclass
class ServeDrift:
    window: int | None = integer("1000", min=0)
    every: int | None = integer("100", min=1)
    min_rows: int | None = integer("100", min=1)
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class Sweep:
    n_trials: int | None = integer("20", min=1)
    n_workers: int | None = integer("1", min=1)
    startup_trials: int | None = integer("5", min=0)
    retries: int | None = integer("2", min=0)
    heartbeat_s: int | None = integer("10", min=1)
    plots: bool | None = flag()


@dataclass
class Data:
    """The keys every data kind in conf/data/ shares (its own keys: its class's signature)."""

    batch_size: int | None = integer("64", min=1, words=("auto",))  # or auto (tables)
    eval_batch_size: int | None = integer("256", min=1)
    val_fraction: float | None = number("0.15")
    test_fraction: float | None = number("0.15")
    as_image: bool | None = flag()
    stratify: bool | None = flag()
    # data=images (kiln.data.images.folder); size, channels, fit, cache: its own checks
    max_pixels: int | None = integer("40000000", min=1)
    cache_limit_bytes: int | None = integer("4294967296", min=1)
    decode_workers: int | None = integer("4", min=1, words=("auto",))


@dataclass
class Optimizer:
    lr: float | None = number("1e-3", above=0)
    weight_decay: float | None = number("0.01", min=0)
    momentum: float | None = number("0.9", min=0)


@dataclass
class SchedulerFn:
    step_size: int | None = integer("10", min=1)
    gamma: float | None = number("0.5", min=0)
    factor: float | None = number("0.5", min=0, below=1)
    patience: int | None = integer("3", min=0)
    pct_start: float | None = number("0.25", min=0, below=1)  # 1 leaves no decay: 0/0
    warmup_fraction: float | None = number("0.05", min=0, max=1)
    min_ratio: float | None = number("0.0", min=0, max=1)


@dataclass
class Scheduler:
    fn: SchedulerFn = field(default_factory=SchedulerFn)


@dataclass
class Model:
    dropout: float | None = number("0.1", min=0, below=1)
    init_strict: bool | None = flag()  # model.init_from: every tensor, or those that match


def _chance(eg: str):
    return number(eg, min=0, max=1)


@dataclass
class Augment:
    """augment=<preset> and its per-op keys (kiln.training.augment; conf/augment/none.yaml)."""

    closed: ClassVar[str] = "an augmentation key"  # a key not named here is refused
    name: str | None = None
    crop: float | None = _chance("1.0")
    crop_scale: list | None = field(default=None, metadata={"eg": "[0.8,1.0]"})  # [low, high]
    flip: float | None = _chance("0.5")
    affine: float | None = _chance("0.5")
    rotate: float | None = number("10", min=0, max=180)
    translate: float | None = _chance("0.05")
    jitter: float | None = _chance("0.8")
    brightness: float | None = number("0.2", min=0)
    contrast: float | None = number("0.2", min=0)
    saturation: float | None = number("0.2", min=0)
    hue: float | None = number("0.05", min=0, max=0.5)
    erasing: float | None = _chance("0.25")
    mixup: float | None = number("0.2", min=0)
    cutmix: float | None = number("1.0", min=0)


@dataclass
class Trainer:
    max_epochs: int | None = integer("10", min=-1)
    min_epochs: int | None = integer("1", min=0)
    max_steps: int | None = integer("1000", min=-1)
    accumulate_grad_batches: int | None = integer("1", min=1)
    gradient_clip_val: float | None = number("1.0", min=0)
    log_every_n_steps: int | None = integer("50", min=1)
    check_val_every_n_epoch: int | None = integer("1", min=1)


@dataclass
class EarlyStopping:
    patience: int | None = integer("10", min=0)


@dataclass
class Callbacks:
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)


@dataclass
class Preprocessing:
    indicator: bool | None = flag()


@dataclass
class Preprocess:
    numeric: Preprocessing = field(default_factory=Preprocessing)
    boolean: Preprocessing = field(default_factory=Preprocessing)
    datetime: Preprocessing = field(default_factory=Preprocessing)


@dataclass
class EvalReport:
    """The evaluation report's settings (``eval.*`` of kiln train and kiln eval;
    kiln.reporting.report.Settings)."""

    closed: ClassVar[str] = "an evaluation report setting"
    slice_by: Any = None  # a column, or a list of columns
    worst_k: int | None = integer("10", min=0)
    importance_rows: int | None = integer("2000", min=0)  # 0: no permutation importance
    importance_repeats: int | None = integer("3", min=1)
    attributions: int | None = integer("5", min=0)  # tables: IG of this many worst rows
    bins: int | None = integer("15", min=1)
