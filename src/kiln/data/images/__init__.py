"""Image files as uint8 arrays: one decoder shared by training, `kiln predict`, the server and
drift, so every path sees the same pixels."""

from kiln.data.images.decode import DEFAULT_MAX_PIXELS, SUFFIXES, decode_image

__all__ = ["DEFAULT_MAX_PIXELS", "SUFFIXES", "decode_image"]
