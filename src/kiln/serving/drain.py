"""Shutting the server down in an order a load balancer can follow.

On SIGTERM uvicorn closes its listening socket at once, so a probe of /ready meets a refused
connection rather than a 503 while the requests in flight are still answered. This server
first says "not ready" and keeps listening until no request is in flight (or
``graceful_timeout_s`` has passed), and only then lets uvicorn stop accepting and shut down.
"""

from __future__ import annotations

import time

import uvicorn

from kiln.serving.settings import Lifecycle


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose exit waits for the app's requests in flight, /ready saying 503."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_s: float) -> None:
        super().__init__(config)
        self.life, self.drain_s = lifecycle, drain_s
        self._drain_until: float | None = None

    async def on_tick(self, counter: int) -> bool:
        exit_now = await super().on_tick(counter)
        if not (exit_now and self.should_exit) or self.force_exit:
            return exit_now  # running on, or a second Ctrl+C: no more waiting
        if self._drain_until is None:
            self.life.ready = False
            self._drain_until = time.monotonic() + self.drain_s
        return self.life.in_flight == 0 or time.monotonic() >= self._drain_until
