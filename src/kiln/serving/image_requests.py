"""A /predict request to an image model: JSON records of base64 images, or image files as
multipart/form-data, decoded in a worker thread (a large image must not stall the event loop).
An image over the model's pixel limit is a 413, refused from its header; any other bad image
a 422 naming it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import HTTPException, Request

from kiln.serving.image_inputs import ImageTooLargeInput
from kiln.serving.request_body import check_content_type, http_error, read_records
from kiln.serving.schema import InputError
from kiln.serving.uploads import is_multipart, read_uploads

DECODERS = 2  # images decoded at once (a 40-megapixel RGB image takes 120 MB while it is)
UPLOAD_DOC = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "image": {"type": "array", "items": {"type": "string", "format": "binary"}}
            },
        }
    }
}


def image_decoder() -> ThreadPoolExecutor:
    """The threads that decode uploads: a few, so that concurrent requests of large images
    hold at most that many full-size images in memory at once."""
    return ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="kiln-decode")


async def read_images(request: Request, predictor, settings, decoder=None):
    """(inputs, missing, unknown, single) of the request's images, decoded in ``decoder``."""
    limits = (settings.max_body_bytes, settings.max_rows, settings.body_timeout_s)
    if is_multipart(request):
        files = await read_uploads(request, *limits)
        encode, data, single = predictor.schema.encode_uploads, files, False
    else:
        try:
            check_content_type(request.headers.get("content-type"))
        except HTTPException:
            raise http_error(
                415,
                "body is neither JSON nor multipart/form-data; send image files as multipart "
                '(curl -F image=@a.png) or JSON records {"image": "<base64>"}.',
            ) from None
        records, single = await read_records(request, *limits)
        # JSON carries base64 records only: a string here is never opened as a server path
        encode, data = predictor.schema.encode_records, records
    try:
        loop = asyncio.get_running_loop()
        inputs, missing, unknown = await loop.run_in_executor(decoder, encode, data)
    except ImageTooLargeInput as err:
        raise http_error(413, str(err)) from None
    except InputError as err:
        raise http_error(422, str(err)) from None
    return inputs, missing, unknown, single
