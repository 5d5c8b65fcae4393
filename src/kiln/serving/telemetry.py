"""Prometheus series of the server, in a registry of its own (one per app, so apps never clash)."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Telemetry:
    """Requests by status, latency, batch sizes, rows predicted, and per-feature data quality."""

    def __init__(self, features: list[str], categorical: list[str] | None = None) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "kiln_requests", "HTTP requests by path and status code", ["path", "status"], registry=r
        )
        self.latency = Histogram(
            "kiln_request_latency_seconds",
            "Request latency",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "kiln_batch_size_rows",
            "Rows per model call (after micro-batching)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.rows = Counter("kiln_rows_predicted", "Rows predicted", registry=r)
        self.missing = Counter(
            "kiln_missing_values", "Missing (null) input values by feature", ["feature"], registry=r
        )
        self.unknown = Counter(
            "kiln_unknown_categories",
            "Categories unseen in training, by feature",
            ["feature"],
            registry=r,
        )
        self.features = features
        self._missing = [self.missing.labels(f) for f in features]
        self._unknown = {f: self.unknown.labels(f) for f in categorical or []}

    def observe_inputs(self, missing: np.ndarray, unknown: np.ndarray) -> None:
        """Counts per feature, in the order of ``features``."""
        for k in np.flatnonzero(missing):
            self._missing[k].inc(int(missing[k]))
        for k in np.flatnonzero(unknown):
            self._unknown[self.features[k]].inc(int(unknown[k]))

    def observe_batch(self, rows: int) -> None:
        self.batch_size.observe(rows)
        self.rows.inc(rows)
