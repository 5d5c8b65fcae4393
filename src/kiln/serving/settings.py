"""The server's settings in one typed object, built by ``kiln serve`` from config (kiln.tasks.serve),
and its lifecycle (ready or draining, requests in flight).

A module of its own because the app, its guard middleware and the draining server read them.
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
    body_timeout_s: float = 10.0  # a body whose next bytes take longer gets 408
    explain: bool = False  # POST /explain (integrated gradients per column; tables)


@dataclass
class Lifecycle:
    """``ready``: the server takes new work (/ready says 200); False before startup and from
    SIGTERM on, while ``in_flight`` requests (all but the open paths) are still answered."""

    ready: bool = False
    in_flight: int = 0
