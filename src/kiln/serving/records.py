"""Records a request carries: the error that names a field, and the check every input encoder
of the server makes (an object with exactly the model's fields)."""

from __future__ import annotations

from kiln.errors import KilnError


class InputError(KilnError):
    """Bad input data (a request or a file): the message names the field."""


def check_record_fields(
    rec, i: int, n: int, names: list[str], index, missing_hint: str = ""
) -> str:
    """Record i of n must be an object with exactly the model's fields; returns how errors
    name it ("record 3" or "the record"). Shared by every input encoder of the server."""
    where = f"record {i}" if n > 1 else "the record"
    if not isinstance(rec, dict):
        raise InputError(f"{where} is a {type(rec).__name__}; send a JSON object of fields.")
    if len(rec) != len(names) or any(k not in index for k in rec):
        missing = [k for k in names if k not in rec]
        if missing:
            raise InputError(
                f"{where}: field {missing[0]!r} is missing; send every field in /metadata{missing_hint}."
            )
        extra = next(k for k in rec if k not in index)
        raise InputError(f"{where}: field {str(extra)!r} is not an input of this model; remove it.")
    return where
