"""Drift in the server: a rolling window of recent inputs compared with the artifact's profile.

``add`` (on every /predict) only featurizes the batch and appends it; the comparison
(``kiln.monitoring.detect.compare``) runs when /drift or /metrics is read and at least
``every`` new rows arrived since the last one, so /predict never pays for it. Failures are
logged and reported in the JSON, never raised: monitoring must not break serving.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np
from prometheus_client import Gauge

from kiln.monitoring.detect import compare
from kiln.monitoring.features import Featurizer
from kiln.monitoring.profile import prediction_values

log = logging.getLogger("kiln")
PREDICTION = "<prediction>"


class DriftWindow:
    """The last ``size`` rows (features and predictions) and their latest drift report."""

    def __init__(self, profile: dict | None, task: str, labels: list[str] | None, registry,
                 size: int = 1000, every: int = 100, min_rows: int = 100,
                 thresholds: dict | None = None) -> None:  # fmt: skip
        self.profile, self.task, self.labels = profile, task, labels
        self.size, self.every, self.min_rows = int(size), max(1, int(every)), int(min_rows)
        self.thresholds = dict(thresholds or {})
        self.featurizer = Featurizer.from_dict(profile["featurizer"]) if profile else None
        self._batches: deque = deque()
        self._rows = self._seen = self._computed_at = 0
        self._lock, self._compute_lock = threading.Lock(), threading.Lock()
        self._report: dict | None = None
        self._add_failed = False
        self._pred_labels: list[str] | None = None
        self.score = Gauge("kiln_drift_score", "Drift statistic per feature (see /drift for the method)",
                           ["feature"], registry=registry)  # fmt: skip
        self.p_value = Gauge("kiln_drift_p_value", "Drift test p-value per feature (small references)",
                             ["feature"], registry=registry)  # fmt: skip
        self.drifted = Gauge("kiln_drift_detected", "1 when the feature drifted in the window",
                             ["feature"], registry=registry)  # fmt: skip
        self.dataset = Gauge("kiln_dataset_drift",
                             "1 when the window shows dataset drift, 0 when not, NaN before the first comparison",
                             registry=registry)  # fmt: skip
        self.dataset.set(float("nan"))  # not 0 ("no drift") while nothing was compared
        self.window_rows = Gauge(
            "kiln_drift_window_rows", "Rows in the drift window", registry=registry
        )

    @property
    def enabled(self) -> bool:
        return self.featurizer is not None and self.size > 0

    def add(self, inputs: list[np.ndarray], out: np.ndarray) -> None:
        """Featurize one batch of encoded inputs (and the model's outputs) into the window."""
        if not self.enabled:
            return
        try:
            num, cat = self.featurizer(inputs)
            values, self._pred_labels = prediction_values(out, self.task, self.labels)
            batch = {**num, **cat, PREDICTION: values}
            n = len(inputs[0])
        except Exception as err:  # noqa: BLE001 - drift must never fail a prediction
            if not self._add_failed:
                log.warning("drift window: could not featurize a request (%s)", err)
                self._add_failed = True
            return
        with self._lock:
            self._batches.append(batch)
            self._rows += n
            self._seen += n
            while self._batches and self._rows - _len(self._batches[0]) >= self.size:
                self._rows -= _len(self._batches.popleft())
            self.window_rows.set(min(self._rows, self.size))  # as /drift counts them

    def report(self) -> dict:
        """The latest report, recomputed first when ``every`` new rows have arrived."""
        if not self.enabled:
            reason = "the artifact has no reference profile" if self.size > 0 else "drift.window=0"
            return {"status": "disabled", "reason": reason}
        with self._compute_lock:
            with self._lock:
                seen, rows, batches = self._seen, self._rows, list(self._batches)
            if rows < self.min_rows:
                return {"status": "warming_up", "window_rows": rows, "min_rows": self.min_rows,
                        "window_size": self.size, "rows_seen": seen}  # fmt: skip
            if self._report is None or seen - self._computed_at >= self.every:
                self._report = self._compute(batches, seen)
                self._computed_at = seen
            return self._report

    def _compute(self, batches: list[dict], seen: int) -> dict:
        try:
            cols = {k: np.concatenate([b[k] for b in batches])[-self.size :] for k in batches[0]}
            pred = cols.pop(PREDICTION)
            num = {k: cols[k] for k in self.featurizer.numeric}
            cat = {k: cols[k] for k in self.featurizer.labels}
            rep = compare(self.profile, num, cat, self.featurizer.labels,
                          (pred, self._pred_labels),
                          self.thresholds, workers=1)  # fmt: skip
        except Exception as err:  # noqa: BLE001 - reported, never a 5xx
            log.warning("drift window: the comparison failed (%s)", err)
            return {"status": "error", "error": f"{type(err).__name__}: {err}"}
        rep.pop("thresholds", None)
        rep.update(status="ok", window_rows=len(pred), window_size=self.size, rows_seen=seen)
        self._export(rep)
        return _plain(rep)

    def _export(self, rep: dict) -> None:
        results = dict(rep["features"])
        if rep.get("predictions"):
            results[PREDICTION] = rep["predictions"]
        for name, r in results.items():
            self.score.labels(name).set(float(r.get("statistic", float("nan"))))
            self.p_value.labels(name).set(float(r.get("p_value", float("nan"))))
            self.drifted.labels(name).set(1.0 if r["drifted"] else 0.0)
        self.dataset.set(1.0 if rep["dataset_drift"] else 0.0)
        self.window_rows.set(rep["window_rows"])


def _len(batch: dict) -> int:
    return len(batch[PREDICTION])


def _plain(obj):
    """JSON-ready: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    return obj
