"""A real uvicorn server on 127.0.0.1 (a free port) in a thread of the test process, and rows
as a client sends them."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import uvicorn

from kiln.serving.app import create_app
from kiln.serving.predictor import Predictor
from kiln.serving.settings import ServeSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc=None, seconds: float = 60) -> None:
    """Poll /ready until 200 (bounded); fail early if the server process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{proc.stderr.read()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} was not ready within {seconds}s")


@contextlib.contextmanager
def live_server(artifact: Path, **settings):
    """A real uvicorn server for ``artifact`` on 127.0.0.1; yields (base URL, app)."""
    app = create_app(Predictor(artifact), ServeSettings(**settings))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url, app
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server thread did not stop"


def to_records(df: pd.DataFrame) -> list[dict]:
    """JSON records as a client sends them: NaN becomes null."""
    return [{k: (None if v != v else v) for k, v in r.items()} for r in df.to_dict("records")]
