"""Sequence data modules: shared plumbing for splits that hold any number of aligned tensors."""

from __future__ import annotations

from pathlib import Path

import torch

from kiln.data.base import InMemoryDataModule
from kiln.data.folds import fold_report
from kiln.errors import KilnError

# data/ at the repository root: small real data sets shipped with kiln (see data/README.md)
SHIPPED_DATA = Path(__file__).resolve().parents[3] / "data"


def resolve_data_path(path: str) -> Path:
    """A path as given, else relative to kiln's shipped data/ folder."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if not p.is_absolute() and (SHIPPED_DATA / p.name).is_file() and p.parent.name in ("", "data"):
        return SHIPPED_DATA / p.name
    raise KilnError(f"data.path={path} is not a readable file; pass the path of a CSV file.")


class SequenceDataModule(InMemoryDataModule):
    """Splits are tuples of aligned tensors (inputs..., target), e.g. (tokens, lengths, y).

    Subclasses implement ``_prepare`` and fill ``splits``, ``spec``, ``preprocessor`` and, for
    regression-like targets, ``target_stats``.
    """

    def _prepare(self) -> None:
        raise NotImplementedError

    def move_to(self, device: torch.device) -> None:
        self.splits = {k: tuple(t.to(device) for t in ts) for k, ts in self.splits.items()}

    def report(self) -> dict:
        out: dict = {"dataset": self.spec.dataset, "task": self.spec.task, "rows": {}}
        out.update(fold_report(self.fold))
        for name, tensors in self.splits.items():
            y = tensors[-1]
            out["rows"][name] = len(y)
            if self.spec.is_classification:
                counts = torch.bincount(y.cpu(), minlength=len(self.spec.class_names)).tolist()
                out.setdefault("class_counts", {})[name] = dict(
                    zip(self.spec.class_names, counts, strict=True)
                )
        out.update(self.extra_report())
        return out

    def extra_report(self) -> dict:
        return {}
