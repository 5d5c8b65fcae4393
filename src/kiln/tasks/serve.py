"""Serve an exported artifact over HTTP (FastAPI on uvicorn), with micro-batching and metrics."""

from __future__ import annotations

import errno
import logging
import socket

from omegaconf import DictConfig, OmegaConf

from kiln.config.trust import trust_from
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
    if float(cfg.get("body_timeout_s", 10)) <= 0 or float(cfg.get("keep_alive_s", 5)) <= 0:
        raise KilnError("body_timeout_s and keep_alive_s must be positive (seconds).")
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
        body_timeout_s=float(cfg.get("body_timeout_s", 10)),
        explain=bool(cfg.get("explain", False)),
    )


def run(cfg: DictConfig) -> None:
    """Load the artifact, then serve until SIGINT/SIGTERM (requests in flight are finished)."""
    import uvicorn
    from uvicorn.config import LOG_LEVELS

    from kiln.serving.drain import DrainingServer

    if str(cfg.log_level) not in LOG_LEVELS:
        raise KilnError(
            f"log_level={cfg.log_level!r} is unknown; use one of {', '.join(LOG_LEVELS)}."
        )
    predictor = Predictor(cfg.artifact, threads=int(cfg.threads), trust_targets=trust_from(cfg))
    app = create_app(predictor, settings_from(cfg))
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and not cfg.get("api_key"):
        log.warning(
            "serving on %s without an API key: anyone who can reach it can call it", cfg.host
        )
    sock = listening_socket(str(cfg.host), int(cfg.port))
    port = sock.getsockname()[1]  # the port the system chose, for port=0
    print(f"kiln serve: {cfg.artifact} on http://{cfg.host}:{port} (docs at /docs)", flush=True)
    config = uvicorn.Config(
        app,
        host=str(cfg.host),
        port=port,
        log_level=str(cfg.log_level),
        access_log=bool(cfg.access_log),
        timeout_graceful_shutdown=int(cfg.graceful_timeout_s),
        timeout_keep_alive=float(cfg.get("keep_alive_s", 5)),
        lifespan="on",
    )
    with sock:
        server = DrainingServer(config, app.state.lifecycle, float(cfg.graceful_timeout_s))
        server.run(sockets=[sock])


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind the server's socket before uvicorn starts, so that a busy port or an unknown host
    is one sentence of kiln's rather than uvicorn's log line and exit status."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as err:
        raise KilnError(
            f"host={host} is not an address this machine can serve on ({err.strerror or err}); pass host=127.0.0.1 or one of its addresses."
        ) from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart on a port in TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        fix = {
            errno.EADDRINUSE: "pass port=<a free port> (port=0 picks one), or stop what holds it",
            errno.EACCES: "ports below 1024 need privileges: pass port=8000 or another above 1023",
        }.get(err.errno, "pass host=127.0.0.1 or an address of this machine")
        raise KilnError(
            f"The server could not listen on {host}:{port} ({err.strerror or err}); {fix}."
        ) from None
    sock.set_inheritable(True)
    return sock
