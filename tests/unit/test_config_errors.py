"""kiln.config_errors: Hydra raises while kiln composes; a task runs under the user's own setting."""

import os

import pytest

from kiln.config_errors import FLAG, one_line_config_errors, reported_by_hydra


@pytest.mark.parametrize("user", [None, "0"])
def test_the_users_hydra_full_error_is_back_while_a_task_runs_and_after(monkeypatch, user):
    if user is None:
        monkeypatch.delenv(FLAG, raising=False)
    else:
        monkeypatch.setenv(FLAG, user)
    seen = []
    task = reported_by_hydra(lambda cfg: seen.append(os.environ.get(FLAG)))
    with one_line_config_errors("train"):
        seen.append(os.environ.get(FLAG))  # composing: Hydra raises
        task(None)
        seen.append(os.environ.get(FLAG))  # the next multirun job composes: raises again
    assert seen == ["1", user, "1"]
    assert os.environ.get(FLAG) == user


def test_a_failing_task_leaves_the_users_setting_for_hydras_report(monkeypatch):
    monkeypatch.delenv(FLAG, raising=False)

    def boom(cfg):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError), one_line_config_errors("train"):
        try:
            reported_by_hydra(boom)(None)
        finally:
            assert FLAG not in os.environ  # what Hydra's run_and_report reads
