"""Typed fields with a range and an example: the schema says what a key takes, once.

OmegaConf enforces a field's type; it has no ranges, so ``integer(min=1, eg="64")`` keeps the
bounds and the example in the field's metadata, where ``kiln.config.schema.check`` reads them.
Bounds are inclusive; ``above``/``below`` exclude the bound itself (a learning rate above 0).
"""

from __future__ import annotations

from dataclasses import field


def integer(
    eg: str,
    *,
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    words: tuple[str, ...] = (),
):
    """An optional integer key (absent or null passes) with inclusive bounds; ``words`` are the
    strings it takes besides (``auto``)."""
    return field(default=None, metadata={"eg": eg, "min": min, "max": max, "words": words})


def number(
    eg: str,
    *,
    min: float | None = None,  # noqa: A002
    max: float | None = None,  # noqa: A002
    above: float | None = None,
    below: float | None = None,
):
    """An optional finite number with inclusive (min, max) or exclusive (above, below) bounds."""
    meta = {"eg": eg, "min": min, "max": max, "above": above, "below": below}
    return field(default=None, metadata=meta)


def flag(words: tuple[str, ...] = ()):
    """An optional true/false key. OmegaConf's bool node would read 'no', 'off' and 0 as false
    (and a task that reads ``bool()`` of text takes them as true); kiln refuses them instead.
    ``words`` are the strings it takes besides (``auto``)."""
    return field(default=None, metadata={"eg": "true", "words": words})


def bounds_in_words(meta: dict) -> str:
    """The allowed range: "between 0 and 65535", "at least 1", "at least 0 and below 1"."""
    low, high = meta.get("min"), meta.get("max")
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    lo = f"at least {low:g}" if low is not None else None
    lo = f"above {meta['above']:g}" if meta.get("above") is not None else lo
    hi = f"at most {high:g}" if high is not None else None
    hi = f"below {meta['below']:g}" if meta.get("below") is not None else hi
    return " and ".join(w for w in (lo, hi) if w)


def in_range(value: float, meta: dict) -> bool:
    """Whether a number lies within a field's bounds."""
    low, high, above, below = (meta.get(k) for k in ("min", "max", "above", "below"))
    return not (
        (low is not None and value < low)
        or (high is not None and value > high)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    )
