"""kiln: config-driven deep-learning training, from data to served model."""

from kiln.errors import KilnError

__version__ = "0.1.0"

__all__ = ["KilnError", "__version__"]
