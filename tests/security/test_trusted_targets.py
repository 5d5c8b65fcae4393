"""What the allow-list lets through: kiln's own checkpoints and artifacts load as before, and a
user's own model class loads once they trust it (trust_targets=[...] or their --config-dir)."""

from __future__ import annotations

import numpy as np
import pytest

import kiln
import kiln.api
from kiln.config.trust import Trust, check_stored
from tests.helpers.tampering import payload, tampered_checkpoint

USER_MODULE = '''
from kiln.models.mlp import MLP


class TinyMLP(MLP):
    """A user's own network: kiln's MLP under another name."""
'''


@pytest.fixture
def user_ckpt(penguins_ckpt, tmp_path, monkeypatch):
    """The penguins checkpoint as if trained with model._target_=userzoo.TinyMLP."""
    (tmp_path / "userzoo.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    def edit(config: dict) -> None:
        config["model"]["_target_"] = "userzoo.TinyMLP"

    return tampered_checkpoint(penguins_ckpt, tmp_path / "user.ckpt", edit)


def evaluate(ckpt, tmp_path, *extra, config_dir=None) -> dict:
    overrides = [f"ckpt_path={ckpt}", f"paths.root={tmp_path / 'runs'}", *extra]
    return kiln.api.run("eval", overrides, config_dir=config_dir)


def test_a_checkpoint_from_shipped_configs_still_evaluates(penguins_ckpt, tmp_path):
    metrics = evaluate(penguins_ckpt, tmp_path)
    assert 0.5 < metrics["test/acc"] <= 1.0


def test_a_torch_artifact_from_shipped_configs_still_loads(torch_artifact, penguins_rows):  # noqa: F811
    out = kiln.load(torch_artifact).predict(penguins_rows.head(20))
    assert len(out) == 20 and set(out["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_a_users_own_target_needs_trust(user_ckpt, penguins_ckpt, tmp_path):
    with pytest.raises(
        kiln.KilnError, match=r"userzoo\.TinyMLP.*trust_targets=\[userzoo\.TinyMLP\]"
    ):
        evaluate(user_ckpt, tmp_path)
    trusted = evaluate(user_ckpt, tmp_path, "trust_targets=[userzoo.*]")
    assert trusted["test/acc"] == pytest.approx(evaluate(penguins_ckpt, tmp_path)["test/acc"])


def test_a_users_config_dir_is_trusted(user_ckpt, tmp_path):
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "tiny.yaml").write_text("_target_: userzoo.TinyMLP\n")
    metrics = evaluate(user_ckpt, tmp_path, config_dir=tmp_path / "conf")
    assert 0.5 < metrics["test/acc"] <= 1.0


def test_a_trusted_torch_artifact_loads_through_the_api(user_ckpt, penguins_rows, tmp_path):  # noqa: F811
    out = tmp_path / "user_artifact"
    kiln.api.run(
        "export",
        [f"ckpt_path={user_ckpt}", f"out={out}", f"paths.root={tmp_path / 'runs'}",
         "format=torch", "trust_targets=[userzoo.TinyMLP]"],
    )  # fmt: skip
    with pytest.raises(kiln.KilnError, match=r"userzoo\.TinyMLP"):
        kiln.load(out)
    rows = penguins_rows.head(10)
    got = kiln.load(out, trust_targets=["userzoo.*"]).predict(rows)
    assert np.isfinite(got.filter(like="proba_").to_numpy()).all() and len(got) == 10


@pytest.mark.parametrize(
    "node, said",
    [
        ({"model": {"_target_": {"_target_": "kiln.models.mlp.MLP"}}}, "not a plain dotted name"),
        ({"model": {"_target_": 7}}, "not a plain dotted name"),
        ({"model": {"_target_": "${oc.env:X}"}}, "not a plain dotted name"),
        ({"model": {"_target_": "kiln.models.mlp.MLP", "x": "${oc.create:'{}'}"}}, "interpolation"),
        ({"a": [{"b": {"_args_": [{"_target_": "pathlib.Path.touch"}]}}]}, "pathlib.Path.touch"),
        ({"model": {"_target_": "kiln.cli.main"}}, "kiln.cli.main"),  # kiln's, but no class
        ({"model": {"_target_": "kiln.cli.subprocess.Popen"}}, "Popen"),  # imported, not kiln's
    ],
)
def test_what_a_stored_config_cannot_name(node, said):
    with pytest.raises(kiln.KilnError, match="refuses") as err:
        check_stored(node, "Checkpoint c.ckpt")
    assert said in str(err.value) and str(err.value).count(". ") == 0


def test_what_the_allow_list_takes():
    trust = Trust(["mypkg.*"])
    for target in ("kiln.models.mlp.MLP", "torch.optim.AdamW", "lightning.Trainer",
                   "lightning.pytorch.callbacks.EarlyStopping", "kiln.monitoring.warm_start.WarmStart",
                   "mypkg.deep.Net"):  # fmt: skip
        assert trust.allows(target), target
    for target in ("builtins.open", "os.system", "pathlib.Path.touch", "mypkgx.Net", "torch.load"):
        assert not trust.allows(target), target
    check_stored({"_args_": [payload_free := {"_target_": "torch.optim.SGD"}]}, "x", trust)
    assert payload_free["_target_"] == "torch.optim.SGD"


def test_the_payload_is_refused_wherever_it_sits(tmp_path):
    with pytest.raises(kiln.KilnError, match="builtins.print"):
        check_stored({"optimizer": {"fn": [payload(tmp_path / "x.pth")]}}, "x")


def test_a_checkpoint_written_before_the_layered_package_names_moved_modules(
    penguins_ckpt, tmp_path
):
    """Its scheduler (kiln.optim.warmup_cosine) and callback (kiln.callbacks...) are read at
    their new paths, and such a checkpoint still evaluates."""
    from hydra.utils import get_object

    config = {
        "scheduler": {"fn": {"_target_": "kiln.optim.warmup_cosine", "_partial_": True}},
        "callbacks": {"cm": {"_target_": "kiln.callbacks.ConfusionMatrixImage"}},
    }
    check_stored(config, "Checkpoint old.ckpt")
    assert config["scheduler"]["fn"]["_target_"] == "kiln.training.optim.warmup_cosine"
    assert callable(get_object(config["callbacks"]["cm"]["_target_"]))

    def edit(stored: dict) -> None:
        stored["callbacks"]["confusion_matrix"] = {
            "_target_": "kiln.callbacks.ConfusionMatrixImage"
        }

    old = tampered_checkpoint(penguins_ckpt, tmp_path / "old.ckpt", edit)
    assert "test/acc" in evaluate(old, tmp_path)
