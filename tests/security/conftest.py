"""The penguins model and its artifact from the serving tests, reused here (exported once)."""

from tests.serving.conftest import penguins_artifact, penguins_ckpt, penguins_rows  # noqa: F401
