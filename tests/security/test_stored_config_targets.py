"""A config stored in a checkpoint or an artifact is data, not code: every command that reads
one refuses a ``_target_`` outside kiln's allow-list in one sentence (exit 2), and the payload
never runs (the file it would write does not exist afterwards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO, cli
from tests.helpers.tampering import payload, tampered_artifact, tampered_checkpoint

PENGUINS = REPO / "data" / "penguins.csv"


def in_model(marker: Path):
    """The payload nested in the model's own arguments (Hydra builds nested nodes first)."""

    def edit(config: dict) -> None:
        config["model"]["norm"] = payload(marker)

    return edit


def as_optimizer(marker: Path):
    def edit(config: dict) -> None:
        config["optimizer"] = payload(marker)

    return edit


def refused(proc, command: str, marker: Path) -> None:
    """Exit 2, one line naming the hostile target and the fix, and no file written."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert err.startswith(f"kiln {command}: error: "), err[-3000:]
    assert "\n" not in err, err
    assert "builtins.print" in err and "trust_targets=[builtins.print]" in err, err
    assert not marker.exists() and not Path(str(marker) + ".ran").exists()


@pytest.fixture
def bad_ckpt(penguins_ckpt, tmp_path) -> tuple[Path, Path]:
    marker = tmp_path / "x.pth"
    return tampered_checkpoint(penguins_ckpt, tmp_path / "bad.ckpt", in_model(marker)), marker


@pytest.fixture
def bad_artifact(torch_artifact, tmp_path) -> tuple[Path, Path]:
    marker = tmp_path / "x.pth"
    return tampered_artifact(torch_artifact, tmp_path / "bad_artifact", in_model(marker)), marker


@pytest.mark.parametrize("where", [in_model, as_optimizer], ids=["in-model", "optimizer"])
def test_eval_refuses_a_stored_target(penguins_ckpt, tmp_path, where):
    marker = tmp_path / "x.pth"
    ckpt = tampered_checkpoint(penguins_ckpt, tmp_path / "bad.ckpt", where(marker))
    refused(cli("eval", f"ckpt_path={ckpt}", runs=tmp_path / "runs"), "eval", marker)


@pytest.mark.parametrize(
    "command, args",
    [
        ("export", ["format=torch"]),
        ("export", ["format=onnx"]),
        ("drift", [f"input={PENGUINS}"]),
        ("retrain", []),
        ("train", ["experiment=penguins_species", "logger=none", "~callbacks.confusion_matrix"]),
    ],
    ids=["export-torch", "export-onnx", "drift", "retrain", "train-resume"],
)
def test_commands_reading_a_checkpoint_refuse_it(bad_ckpt, tmp_path, command, args):
    ckpt, marker = bad_ckpt
    if command == "export":
        args = [*args, f"out={tmp_path / 'art'}"]
    proc = cli(command, f"ckpt_path={ckpt}", *args, runs=tmp_path / "runs")
    refused(proc, command, marker)
    assert not (tmp_path / "art").exists()


@pytest.mark.parametrize(
    "command, args",
    [
        ("predict", [f"input={PENGUINS}", "output=OUT"]),
        ("serve", ["port=0"]),
        ("drift", [f"input={PENGUINS}"]),
    ],
    ids=["predict", "serve", "drift"],
)
def test_commands_reading_a_torch_artifact_refuse_it(bad_artifact, tmp_path, command, args):
    artifact, marker = bad_artifact
    args = [a.replace("OUT", str(tmp_path / "out.csv")) for a in args]
    proc = cli(command, f"artifact={artifact}", *args, runs=tmp_path / "runs", timeout=120)
    refused(proc, command, marker)
    assert not (tmp_path / "out.csv").exists()


def test_kiln_load_refuses_a_torch_artifact(bad_artifact):
    import kiln

    artifact, marker = bad_artifact
    with pytest.raises(kiln.KilnError, match=r"builtins\.print.*trust_targets=\[builtins\.print\]"):
        kiln.load(artifact)
    assert not marker.exists()
