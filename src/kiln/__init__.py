"""kiln: config-driven deep-learning training, from data to served model."""

from kiln.errors import KilnError

__version__ = "0.1.0"

__all__ = ["KilnError", "__version__", "load"]


def load(artifact, threads: int = 1):
    """A predictor for an artifact written by ``kiln export``: ``kiln.load(path).predict(df)``."""
    from kiln.serving.predictor import load as _load

    return _load(artifact, threads=threads)
