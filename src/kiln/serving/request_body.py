"""Reading a /predict body by hand: its size while it streams in, the JSON, and its shape
(one record object or a non-empty list of at most ``max_rows`` records).

Each failure is an HTTPException with a 4xx status and a message that names the body and the
fix; the fields of each record are checked afterwards by the predictor's schema
(kiln.serving.schema).
"""

from __future__ import annotations

import json

from fastapi import HTTPException, Request


def http_error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


async def read_records(request: Request, max_body_bytes: int, max_rows: int) -> tuple[list, bool]:
    """(records, single): the body's records, and whether it was one record rather than a list."""
    payload = parse_json(await read_body(request, max_body_bytes))
    single = isinstance(payload, dict)
    records = [payload] if single else payload
    if not isinstance(records, list):
        raise http_error(
            422,
            f"body is a JSON {type(payload).__name__}; send a record object or a list of records.",
        )
    if not records:
        raise http_error(422, "body is an empty list; send at least one record.")
    if len(records) > max_rows:
        raise http_error(
            413,
            f"body holds {len(records)} records, over the limit of max_rows={max_rows}; split the request.",
        )
    return records, single


async def read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise http_error(
                413, f"body: over the limit of {limit} bytes; send fewer records per request."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes):
    if not body:
        raise http_error(400, "body is empty; send a JSON record or a list of records.")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise http_error(
            400, f"body is not valid JSON ({str(err).splitlines()[0][:120]})."
        ) from None
    except RecursionError:
        raise http_error(400, "body is nested too deeply; send flat JSON records.") from None
