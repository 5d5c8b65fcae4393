"""What every request passes before a route sees it: the API key, the declared body size, and
the request count and latency in the server's telemetry (and the count in flight, which a
shutdown waits for).

ASGI middleware around the whole app, so a refused request is counted and timed like any
other; the open paths (/health, /ready, /docs) need no key.
"""

from __future__ import annotations

import hmac
import time

from fastapi.responses import JSONResponse

from kiln.serving.settings import Lifecycle, ServeSettings
from kiln.serving.telemetry import Telemetry

OPEN_PATHS = {"/health", "/ready", "/docs", "/openapi.json", "/docs/oauth2-redirect"}
KNOWN_PATHS = {"/predict", "/metadata", "/metrics", "/drift"} | OPEN_PATHS


class Guard:
    """ASGI middleware: API key, body size by Content-Length, request count and latency."""

    def __init__(
        self, app, settings: ServeSettings, telemetry: Telemetry, lifecycle: Lifecycle
    ) -> None:
        self.app, self.settings, self.telemetry, self.life = app, settings, telemetry, lifecycle
        self.header = settings.api_key_header.lower().encode()
        self.key = settings.api_key.encode() if settings.api_key else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        status = [500]
        counted = scope["path"] not in OPEN_PATHS
        self.life.in_flight += counted

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refuse(scope)
            if refusal is not None:
                await refusal(scope, receive, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            self.life.in_flight -= counted
            self.telemetry.requests.labels(path, str(status[0])).inc()
            self.telemetry.latency.labels(path).observe(time.perf_counter() - started)

    def _refuse(self, scope) -> JSONResponse | None:
        headers = dict(scope["headers"])
        if self.key is not None and scope["path"] not in OPEN_PATHS:
            given = headers.get(self.header, b"")
            if not hmac.compare_digest(given, self.key):
                return JSONResponse(
                    {
                        "detail": f"header {self.settings.api_key_header} is missing or wrong; send the server's API key."
                    },
                    status_code=401,
                )
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return JSONResponse(
                    {"detail": "header content-length is not a number."}, status_code=400
                )
            if int(length) > self.settings.max_body_bytes:
                return JSONResponse(
                    {
                        "detail": f"body: {int(length)} bytes exceed the limit of {self.settings.max_body_bytes}; send fewer records per request."
                    },
                    status_code=413,
                )
        return None
