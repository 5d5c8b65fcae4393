"""Reading a /predict body by hand: its content type, its size and pace while it streams in,
the JSON, and its shape (one record object or a non-empty list of at most ``max_rows`` records).

Each failure is an HTTPException with a 4xx status and a message that names the body and the
fix; the fields of each record are checked afterwards by the predictor's schema
(kiln.serving.schema).
"""

from __future__ import annotations

import asyncio
import json

from fastapi import HTTPException, Request


def http_error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


JSON_TYPES = ("application/json",)
# Python refuses to read integers of more digits than this (sys.get_int_max_str_digits);
# longer ones are read as a float (an infinity), which the schema refuses naming the field.
_INT_DIGITS = 4000


async def read_records(
    request: Request, max_body_bytes: int, max_rows: int, timeout_s: float = 10.0
) -> tuple[list, bool]:
    """(records, single): the body's records, and whether it was one record rather than a list."""
    check_content_type(request.headers.get("content-type"))
    payload = parse_json(await read_body(request, max_body_bytes, timeout_s))
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


def check_content_type(header: str | None) -> None:
    """A body sent as text or a form is refused rather than read as JSON (no header: JSON)."""
    if header is None:
        return
    kind = header.split(";")[0].strip().lower()
    if kind not in JSON_TYPES and not (kind.startswith("application/") and kind.endswith("+json")):
        raise http_error(
            415,
            f"body has content-type {kind or header!r}; send it as application/json "
            "(header Content-Type: application/json).",
        )


async def read_body(request: Request, limit: int, timeout_s: float = 10.0) -> bytes:
    """The body; one that stalls for ``timeout_s`` is a 408, so that a client that never sends
    the rest holds neither a worker nor the server's shutdown."""
    chunks, size = [], 0
    stream = request.stream()
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                chunk = await anext(stream)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise http_error(
                408,
                f"body: no bytes arrived for {timeout_s:g} s (after {size}); send the whole body at once.",
            ) from None
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
        return json.loads(body, parse_int=_int)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise http_error(
            400, f"body is not valid JSON ({str(err).splitlines()[0][:120]})."
        ) from None
    except RecursionError:
        raise http_error(400, "body is nested too deeply; send flat JSON records.") from None


def _int(text: str) -> int | float:
    return int(text) if len(text.lstrip("-")) <= _INT_DIGITS else float(text)
