"""``POST /explain`` (``kiln serve explain=true``; off by default): records in, each one's
answer explained per column (kiln.serving.explain), on the model's own worker thread."""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI, Request, Response

from kiln.errors import KilnError
from kiln.serving.explain import explain_records
from kiln.serving.request_body import http_error, read_records
from kiln.serving.schema import InputError


def add_explain_route(app: FastAPI, predictor, settings, executor) -> None:
    @app.post("/explain")
    async def explain(request: Request) -> Response:
        """One record or a list -> {"explained", "output", "baseline", "attributions"} each."""
        records, single = await read_records(
            request, settings.max_body_bytes, settings.max_rows, settings.body_timeout_s
        )
        loop = asyncio.get_running_loop()
        try:
            answers = await loop.run_in_executor(executor, explain_records, predictor, records)
        except InputError as err:
            raise http_error(422, str(err)) from None
        except KilnError as err:
            raise http_error(400, str(err)) from None
        body = answers[0] if single else {"explanations": answers}
        return Response(json.dumps(body), media_type="application/json")
