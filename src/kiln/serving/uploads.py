"""Image files uploaded to /predict as ``multipart/form-data``: the body is read under the same
size and pace limits as a JSON body (kiln.serving.request_body), then parsed by Starlette's form
parser (python-multipart); every file part is one image, in the order sent."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from kiln.serving.request_body import http_error, read_body

MULTIPART = "multipart/form-data"


def is_multipart(request: Request) -> bool:
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return kind == MULTIPART


async def read_uploads(request: Request, max_body_bytes: int, max_rows: int,
                       timeout_s: float = 10.0) -> list[tuple[str, bytes]]:  # fmt: skip
    """(filename, bytes) of each file part; no file, or more than ``max_rows``, is a 4xx."""
    body = await read_body(request, max_body_bytes, timeout_s)
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=max_rows, max_fields=max_rows)
    except Exception as err:  # noqa: BLE001 - a malformed form is the client's, never a 500
        status = getattr(err, "status_code", 400)
        detail = getattr(err, "detail", None) or str(err) or type(err).__name__
        raise http_error(
            413 if status == 413 or "Too many" in str(detail) else 400,
            f"body is not a valid multipart/form-data upload ({detail}); send each image as a file part.",
        ) from None
    files = []
    try:
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((value.filename or f"file {len(files)}", await value.read()))
    finally:
        await form.close()
    if not files:
        raise http_error(
            422, "body holds no file parts; send each image as a file (curl -F image=@a.png)."
        )
    if len(files) > max_rows:
        raise http_error(
            413,
            f"body holds {len(files)} images, over the limit of max_rows={max_rows}; split the request.",
        )
    return files
