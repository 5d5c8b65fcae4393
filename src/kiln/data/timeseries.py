"""Forecasting from one CSV column: sliding windows, a horizon, a chronological split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from kiln.data.sequence import SequenceDataModule, resolve_data_path
from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.preprocessing.scale import Standardize


class TimeSeriesDataModule(SequenceDataModule):
    """Each sample: the last ``window`` values -> the next ``horizon`` values.

    The series is cut in time into train, val and test spans (never shuffled across a
    boundary); a sample belongs to the span that holds all of its targets, and its input
    window may look back into the span before. Mean and std come from the training span
    only and live in the model (inputs) and its target scaler (outputs).

    Test folds (``test_folds=K, test_fold=k``, from ``kiln compare cv.test_folds``) are an expanding
    window, as scikit-learn's TimeSeriesSplit: the last K blocks of n // (K + 1) steps are the
    test spans, fold k tests block k, and everything before it is train then val (val taking
    val_fraction / (1 - test_fraction) of it); steps after the block are unused.
    """

    def __init__(
        self,
        path: str,
        column: str,
        time_column: str | None = None,
        window: int = 24,
        horizon: int = 1,
        season: int = 1,
        name: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if window < 1 or horizon < 1:
            raise KilnError(f"data.window={window} and data.horizon={horizon} must be >= 1.")
        self.path, self.column, self.time_column = path, column, time_column
        self.window, self.horizon, self.season = int(window), int(horizon), int(season)
        self.name = name
        self.spans: dict[str, list[int]] = {}

    def read_series(self) -> np.ndarray:
        file = resolve_data_path(self.path)
        frame = pd.read_csv(file)
        for col in (self.column, self.time_column):
            if col is not None and col not in frame.columns:
                raise KilnError(
                    f"Column {col!r} is not in {file.name}; use one of {', '.join(map(str, frame.columns))}."
                )
        if self.time_column:
            frame = frame.sort_values(self.time_column, kind="stable")
        values = pd.to_numeric(frame[self.column], errors="coerce").to_numpy(np.float64)
        if np.isnan(values).any():
            raise KilnError(
                f"Column {self.column!r} of {file.name} has {int(np.isnan(values).sum())} missing or "
                "non-numeric values; fill or interpolate them first."
            )
        return values

    def _prepare(self) -> None:
        s = self.read_series()
        n, w, h = len(s), self.window, self.horizon
        self.spans = self.cut(n)
        train_end = self.spans["train"][1]
        x_all, y_all, starts = self.windows(s)
        mean, std = float(s[:train_end].mean()), float(s[:train_end].std()) or 1.0
        self.splits = {}
        for split, (lo, hi) in self.spans.items():
            # t is the first target step; all of t..t+h-1 must lie in [lo, hi)
            keep = (starts >= max(lo, w)) & (starts + h <= hi)
            if not keep.any():
                more = "lower cv.test_folds" if self.fold else f"raise data.{split}_fraction"
                raise KilnError(
                    f"The {split} span of {self.column} ({hi - lo} steps) holds no window of "
                    f"{w}+{h} steps; lower data.window or data.horizon, or {more}."
                    if split != "train"
                    else f"The training span of {self.column} is shorter than data.window+data.horizon={w + h}; lower them"
                    + (" or cv.test_folds." if self.fold else ".")
                )
            self.splits[split] = (x_all[keep], y_all[keep])
        self.preprocessor = Standardize(torch.tensor([mean]), torch.tensor([std]))
        self.target_stats = (mean, std)
        self.spec = InputSpec(
            kind="sequence",
            shape=(w, 1),
            task="forecast",
            num_outputs=h,
            dataset=self.name or f"{self.column}",
            extra={"horizon": h, "season": self.season, "window": w},
        )

    def cut(self, n: int) -> dict[str, list[int]]:
        """[start, end) of the train, val and test spans of a series of ``n`` steps."""
        if self.fold is None:
            train_end = int(round(n * (1 - self.val_fraction - self.test_fraction)))
            val_end = int(round(n * (1 - self.test_fraction)))
            return {"train": [0, train_end], "val": [train_end, val_end], "test": [val_end, n]}
        folds, fold = self.fold
        block = n // (folds + 1)
        test_start = n - (folds - fold) * block
        val_share = self.val_fraction / (1 - self.test_fraction)
        train_end = int(round(test_start * (1 - val_share)))
        return {
            "train": [0, train_end],
            "val": [train_end, test_start],
            "test": [test_start, test_start + block],
        }

    def windows(self, s: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """All (window -> horizon) pairs of the series and the index of each first target."""
        w, h = self.window, self.horizon
        if len(s) < w + h:
            raise KilnError(
                f"The series has {len(s)} steps, fewer than data.window+data.horizon={w + h}."
            )
        view = np.lib.stride_tricks.sliding_window_view(s, w + h)
        x = torch.tensor(view[:, :w, None], dtype=torch.float32)
        y = torch.tensor(view[:, w:], dtype=torch.float32)
        return x, y, np.arange(w, len(s) - h + 1)

    def extra_report(self) -> dict:
        return {"spans": self.spans, "window": self.window, "horizon": self.horizon}
