"""The server's settings in one typed object, built by ``kiln serve`` from config (kiln.tasks.serve).

A module of its own because both the app and its guard middleware read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServeSettings:
    batching: bool = True
    max_batch_size: int = 64
    max_wait_ms: float = 2.0
    api_key: str | None = None
    api_key_header: str = "X-API-Key"
    max_body_bytes: int = 1 << 20
    max_rows: int = 1024
    drift_window: int = 1000  # recent input rows compared with the reference (0: off)
    drift_every: int = 100  # new rows between two drift computations
    drift_min_rows: int = 100  # rows the window needs before drift is computed
    drift_thresholds: dict | None = None  # kiln.monitoring.detect.DEFAULTS keys
