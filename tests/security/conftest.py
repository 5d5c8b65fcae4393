"""The penguins model and its artifact from the serving tests, reused here (exported once), and
no signing key from the caller's environment: each test sets the one it means."""

import pytest

from tests.serving.conftest import penguins_artifact, penguins_ckpt, penguins_rows  # noqa: F401


@pytest.fixture(autouse=True)
def no_signing_key(monkeypatch):
    monkeypatch.delenv("KILN_SIGNING_KEY", raising=False)
    monkeypatch.delenv("KILN_SIGNING_KEY_FILE", raising=False)
