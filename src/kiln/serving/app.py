"""The HTTP app: /predict with micro-batching, /health, /ready, /metadata, /metrics, /drift, /docs.

Bad input never reaches the model unchecked: every request is parsed and validated by hand
(size, JSON, shape, each field), and each failure is a 4xx whose message names the field:
the API key and declared size in kiln.serving.guard, the body in kiln.serving.request_body,
each field in the predictor's schema. This module wires them to the routes.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kiln.serving.batcher import MicroBatcher
from kiln.serving.drift_window import DriftWindow
from kiln.serving.guard import Guard
from kiln.serving.image_requests import UPLOAD_DOC, image_decoder, read_images
from kiln.serving.predictor import Predictor
from kiln.serving.request_body import http_error, read_records
from kiln.serving.schema import InputError
from kiln.serving.settings import Lifecycle, ServeSettings
from kiln.serving.telemetry import Telemetry


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
    decoder = image_decoder() if schema.kind == "image" else None  # bounded: memory stays flat
    state = {"batcher": None}
    life = Lifecycle()  # ready, and requests in flight (kiln.serving.drain reads both)

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
        life.ready = True
        yield
        life.ready = False
        if state["batcher"] is not None:
            await state["batcher"].stop()
        executor.shutdown(wait=True)
        if decoder is not None:
            decoder.shutdown(wait=True)

    record = schema.json_schema()
    app = FastAPI(
        title="kiln model server",
        version=predictor.meta["versions"]["kiln"],
        description=f"{predictor.task} model; inputs: {', '.join(schema.names[:20])}",
        lifespan=lifespan,
    )
    app.state.telemetry = telemetry
    app.state.drift = drift
    app.state.lifecycle = life

    @app.get("/health")
    async def health() -> dict:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """The model is loaded and the server takes requests (503 from SIGTERM on, while the
        requests in flight are finished)."""
        return JSONResponse({"ready": life.ready}, status_code=200 if life.ready else 503)

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
                    "application/json": {"schema": body_schema, "example": schema.example()},
                    **(UPLOAD_DOC if schema.kind == "image" else {}),
                },
            }
        },
    )
    async def predict(request: Request) -> Response:
        """One record (a JSON object) or a list of records -> predictions (with probabilities);
        an image model also takes image files as multipart/form-data (answered as a list)."""
        if schema.kind == "image":  # decoding takes a thread, not the event loop
            inputs, missing, unknown, single = await read_images(
                request, predictor, settings, decoder
            )
        else:
            records, single = await read_records(
                request, settings.max_body_bytes, settings.max_rows, settings.body_timeout_s
            )
            try:
                inputs, missing, unknown = predictor.encode(records)
            except InputError as err:
                raise http_error(422, str(err)) from None
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

    app.add_middleware(Guard, settings=settings, telemetry=telemetry, lifecycle=life)
    return app
