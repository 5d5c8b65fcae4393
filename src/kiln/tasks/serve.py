"""Serve an exported artifact over HTTP (FastAPI on uvicorn), with micro-batching and metrics."""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf

from kiln.errors import KilnError
from kiln.serving.app import create_app
from kiln.serving.predictor import Predictor
from kiln.serving.settings import ServeSettings

log = logging.getLogger("kiln")


def settings_from(cfg: DictConfig) -> ServeSettings:
    for key in ("max_body_bytes", "max_rows"):
        if int(cfg[key]) < 1:
            raise KilnError(f"{key}={cfg[key]} must be at least 1.")
    b = cfg.batching
    if int(b.max_batch_size) < 1 or float(b.max_wait_ms) < 0:
        raise KilnError("batching.max_batch_size must be >= 1 and batching.max_wait_ms >= 0.")
    key = cfg.get("api_key")
    d = cfg.get("drift") or {}
    if int(d.get("window", 1000)) < 0 or int(d.get("every", 100)) < 1:
        raise KilnError("drift.window must be >= 0 (0: off) and drift.every >= 1.")
    thresholds = d.get("thresholds")
    return ServeSettings(
        batching=bool(b.enabled),
        max_batch_size=int(b.max_batch_size),
        max_wait_ms=float(b.max_wait_ms),
        api_key=str(key) if key else None,
        api_key_header=str(cfg.api_key_header),
        max_body_bytes=int(cfg.max_body_bytes),
        max_rows=int(cfg.max_rows),
        drift_window=int(d.get("window", 1000)),
        drift_every=int(d.get("every", 100)),
        drift_min_rows=int(d.get("min_rows", 100)),
        drift_thresholds=OmegaConf.to_container(thresholds) if thresholds else None,
    )


def run(cfg: DictConfig) -> None:
    """Load the artifact, then serve until SIGINT/SIGTERM (requests in flight are finished)."""
    import uvicorn
    from uvicorn.config import LOG_LEVELS

    if str(cfg.log_level) not in LOG_LEVELS:
        raise KilnError(
            f"log_level={cfg.log_level!r} is unknown; use one of {', '.join(LOG_LEVELS)}."
        )
    predictor = Predictor(cfg.artifact, threads=int(cfg.threads))
    app = create_app(predictor, settings_from(cfg))
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and not cfg.get("api_key"):
        log.warning(
            "serving on %s without an API key: anyone who can reach it can call it", cfg.host
        )
    print(f"kiln serve: {cfg.artifact} on http://{cfg.host}:{cfg.port} (docs at /docs)", flush=True)
    config = uvicorn.Config(
        app,
        host=str(cfg.host),
        port=int(cfg.port),
        log_level=str(cfg.log_level),
        access_log=bool(cfg.access_log),
        timeout_graceful_shutdown=int(cfg.graceful_timeout_s),
        lifespan="on",
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except SystemExit:  # uvicorn exits (status 3) when it cannot bind; kiln says why below
        if server.started:
            raise
    if not server.started:
        raise KilnError(
            f"The server could not start on {cfg.host}:{cfg.port} (see the line above: a port in use or an unknown host); pass port=<a free port> or host=127.0.0.1."
        )
