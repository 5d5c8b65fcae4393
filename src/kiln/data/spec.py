"""What a model needs to know about its input and target, read from the data, never typed by hand."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

TASKS = ("multiclass", "binary", "regression", "forecast", "multilabel")
KINDS = ("tabular", "image", "sequence", "tokens")


@dataclass(frozen=True)
class InputSpec:
    """The contract between a data module and the model built for it.

    kind: "tabular" (features of shape (F,)), "image" (C, H, W), "sequence" (float steps
    (T, C)) or "tokens" (int ids (T,) plus lengths; extra["vocab_size"]).
    task "forecast" predicts num_outputs = horizon future values.
    shape: the shape of one raw sample as the network's first layer sees it.
    task: one of TASKS; num_outputs is the class count for multiclass, else 1.
    dataset: a name that says where the data came from, checked when a checkpoint is reused.
    """

    kind: str
    shape: tuple[int, ...]
    task: str
    num_outputs: int
    dataset: str
    class_names: list[str] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        """Classes or labels (multilabel: several 0/1 labels a row, docs/text.md)."""
        return self.is_classification or self.task == "multilabel"

    @property
    def is_classification(self) -> bool:
        return self.task in ("multiclass", "binary")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> InputSpec:
        d = dict(d)
        d["shape"] = tuple(d["shape"])
        return cls(**d)
