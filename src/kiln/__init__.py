"""kiln: config-driven deep-learning training, from data to served model."""

from kiln.errors import KilnError
from kiln.version import __version__

__all__ = ["KilnError", "__version__", "load"]


def load(artifact, threads: int = 1, trust_targets=None):
    """A predictor for an artifact written by ``kiln export``: ``kiln.load(path).predict(df)``.

    A format=torch artifact's model is rebuilt from its stored config, which may only name
    kiln's own classes; ``trust_targets=["mypkg.*"]`` lets it build your own as well.
    """
    from kiln.serving.predictor import load as _load

    return _load(artifact, threads=threads, trust_targets=trust_targets)
