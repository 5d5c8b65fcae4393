"""kiln.config.hydra_errors: Hydra raises while kiln composes; a task runs under the user's own setting."""

import os

import pytest

from kiln.config.hydra_errors import FLAG, one_line_config_errors, reported_by_hydra


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


def test_a_suggested_override_with_a_space_is_quoted_whole():
    from hydra.errors import ConfigCompositionException

    from kiln.config.hydra_errors import sentence

    err = ConfigCompositionException(
        "Could not override 'sweep.params.x'.\nTo append to your config use "
        "+sweep.params.x='choice(0.1, 1.5)'"
    )
    assert """write "+sweep.params.x='choice(0.1, 1.5)'" to add""" in sentence(err, "sweep")
    plain = ConfigCompositionException(
        "Could not override 'optimizr.lr'.\nTo append to your config use +optimizr.lr=1"
    )
    assert "write +optimizr.lr=1 to add a new key." in sentence(plain, "train")


def test_a_group_a_command_does_not_take_names_the_groups_it_does():
    from kiln.config.hydra_errors import check_group_overrides, groups_of
    from kiln.errors import KilnError

    assert groups_of("eval") == ("trainer", "paths", "data")
    assert "sweep" in groups_of("sweep") and "model" in groups_of("sweep")  # train's too
    with pytest.raises(KilnError, match="use kiln sweep sweep=wine_mlp for that"):
        check_group_overrides("train", ["+sweep=wine_mlp"])
    check_group_overrides("train", ["+my_key=1", "+data.columns.x=categorical", "model=mlp"])
    check_group_overrides("sweep", ["+sweep=wine_mlp"])


def test_a_config_dir_that_is_not_a_folder_is_one_sentence_in_the_api_too(tmp_path):
    import kiln.api
    from kiln.errors import KilnError

    (tmp_path / "a_file").write_text("x")
    with pytest.raises(KilnError, match=r"^config_dir \S+nodir does not exist; pass the folder"):
        kiln.api.compose("train", [], config_dir=tmp_path / "nodir")
    with pytest.raises(KilnError, match=r"a_file is a file, not a folder"):
        kiln.api.compose("train", [], config_dir=tmp_path / "a_file")
