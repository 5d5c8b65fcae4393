"""The HTTP app: /predict with micro-batching, /health, /ready, /metadata, /metrics, /drift, /docs.

Bad input never reaches the model unchecked: every request is parsed and validated by hand
(size, JSON, shape, each field), and each failure is a 4xx whose message names the field.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kiln.serving.batcher import MicroBatcher
from kiln.serving.drift_window import DriftWindow
from kiln.serving.predictor import Predictor
from kiln.serving.schema import InputError
from kiln.serving.telemetry import Telemetry

OPEN_PATHS = {"/health", "/ready", "/docs", "/openapi.json", "/docs/oauth2-redirect"}
KNOWN_PATHS = {"/predict", "/metadata", "/metrics", "/drift"} | OPEN_PATHS


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


class Guard:
    """ASGI middleware: API key, body size by Content-Length, request count and latency."""

    def __init__(self, app, settings: ServeSettings, telemetry: Telemetry) -> None:
        self.app, self.settings, self.telemetry = app, settings, telemetry
        self.header = settings.api_key_header.lower().encode()
        self.key = settings.api_key.encode() if settings.api_key else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        status = [500]

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


def _bad(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def create_app(predictor: Predictor, settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    schema = predictor.schema
    telemetry = Telemetry(
        schema.names,
        categorical=[f["name"] for f in schema.features if f.get("type") == "categorical"],
    )
    drift = DriftWindow(predictor.meta.get("profile"), predictor.task, predictor.labels,
                        telemetry.registry, settings.drift_window, settings.drift_every,
                        settings.drift_min_rows, settings.drift_thresholds)  # fmt: skip
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiln-model")
    state = {"ready": False, "batcher": None}

    def run_model(inputs):
        return predictor.run(inputs)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.batching:
            state["batcher"] = MicroBatcher(
                run_model,
                executor,
                settings.max_batch_size,
                settings.max_wait_ms,
                telemetry.observe_batch,
            )
            state["batcher"].start()
        state["ready"] = True
        yield
        state["ready"] = False
        if state["batcher"] is not None:
            await state["batcher"].stop()
        executor.shutdown(wait=True)

    record = schema.json_schema()
    app = FastAPI(
        title="kiln model server",
        version=predictor.meta["versions"]["kiln"],
        description=f"{predictor.task} model; inputs: {', '.join(schema.names[:20])}",
        lifespan=lifespan,
    )
    app.state.telemetry = telemetry
    app.state.drift = drift

    @app.get("/health")
    async def health() -> dict:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """The model is loaded and the server takes requests."""
        return JSONResponse({"ready": state["ready"]}, status_code=200 if state["ready"] else 503)

    meta_public = {
        k: predictor.meta.get(k)
        for k in (
            "task",
            "labels",
            "inputs",
            "metrics",
            "versions",
            "content_hash",
            "created",
            "format",
        )
    }

    @app.get("/metadata")
    async def metadata() -> dict:
        """Input schema, labels, task, training metrics, versions and the artifact's content hash."""
        return meta_public

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus exposition (drift gauges refreshed as /drift does)."""
        await asyncio.to_thread(drift.report)
        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/drift")
    async def drift_report() -> Response:
        """Drift of the recent inputs (a rolling window) against the training reference."""
        body = await asyncio.to_thread(drift.report)
        return Response(json.dumps(body), media_type="application/json")

    body_schema = {
        "oneOf": [
            record,
            {"type": "array", "items": record, "minItems": 1, "maxItems": settings.max_rows},
        ]
    }

    @app.post(
        "/predict",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": body_schema, "example": schema.example()}
                },
            }
        },
    )
    async def predict(request: Request) -> Response:
        """One record (a JSON object) or a list of records -> predictions (with probabilities)."""
        payload = _parse(await _read_body(request, settings.max_body_bytes))
        single = isinstance(payload, dict)
        records = [payload] if single else payload
        if not isinstance(records, list):
            raise _bad(
                422,
                f"body is a JSON {type(payload).__name__}; send a record object or a list of records.",
            )
        if not records:
            raise _bad(422, "body is an empty list; send at least one record.")
        if len(records) > settings.max_rows:
            raise _bad(
                413,
                f"body holds {len(records)} records, over the limit of max_rows={settings.max_rows}; split the request.",
            )
        try:
            inputs, missing, unknown = predictor.encode(records)
        except InputError as err:
            raise _bad(422, str(err)) from None
        telemetry.observe_inputs(missing, unknown)
        if state["batcher"] is not None:
            out = await state["batcher"].submit(inputs)
        else:
            out = await asyncio.get_running_loop().run_in_executor(executor, run_model, inputs)
            telemetry.observe_batch(len(out))
        drift.add(inputs, out)
        answers = predictor.to_records(out)
        body = answers[0] if single else {"predictions": answers}
        return Response(json.dumps(body), media_type="application/json")

    app.add_middleware(Guard, settings=settings, telemetry=telemetry)
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _bad(
                413, f"body: over the limit of {limit} bytes; send fewer records per request."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes):
    if not body:
        raise _bad(400, "body is empty; send a JSON record or a list of records.")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _bad(400, f"body is not valid JSON ({str(err).splitlines()[0][:120]}).") from None
    except RecursionError:
        raise _bad(400, "body is nested too deeply; send flat JSON records.") from None
