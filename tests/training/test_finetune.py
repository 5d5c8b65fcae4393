"""model.init_from (a kiln checkpoint or .safetensors, strict or by matching names and shapes)
and model.freeze (fnmatch patterns: out of the optimizer, bitwise unchanged by training)."""

import pytest
import torch
from safetensors.torch import save_file

from kiln.errors import KilnError
from tests.helpers import cli, train

SMALL = ["model=resnet", "model.channels=[4,8]", "model.blocks_per_stage=1", "debug=fast",
         "logger=none", "~callbacks.confusion_matrix", "test=false", "calibrate=false"]  # fmt: skip


@pytest.fixture(scope="module")
def start(tmp_path_factory):
    """A trained small ResNet on digits: the weights a user fine-tunes from."""
    runs = tmp_path_factory.mktemp("runs")
    return train(runs, *SMALL, "seed=1")["best_checkpoint"]


class Planter:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def network(path):
    state = torch.load(path, weights_only=True)["state_dict"]
    return {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}


def test_frozen_layers_are_bitwise_unchanged_after_training(runs, start, caplog):
    caplog.set_level("INFO", logger="kiln")
    tuned = train(runs, *SMALL, "seed=2", f"model.init_from={start}", "model.freeze=[stem,stages.0.*]",
                  "trainer.limit_train_batches=6")  # fmt: skip
    assert f"model.init_from={start}: loaded" in caplog.text
    before, after = network(start), network(tuned["best_checkpoint"])
    frozen = [k for k in before if k.startswith(("stem.", "stages.0."))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)  # BN stats too
    trained = [k for k in before if k.startswith("head.") or k.startswith("stages.1.")]
    assert any(not torch.equal(before[k], after[k]) for k in trained)


def test_strict_and_matching_names(runs, start, tmp_path, caplog):
    state = network(start)
    state["head.3.weight"] = torch.zeros(5, 8)  # another head: 5 classes
    state["extra.weight"] = torch.zeros(2)
    del state["head.3.bias"]
    file = tmp_path / "other.safetensors"
    save_file({f"network.{k}": v.contiguous() for k, v in state.items()}, str(file))
    with pytest.raises(KilnError, match=r"does not match the model \(1 shapes differ, 1 missing, "
                                        r"1 extra: head.3.weight is \[5, 8\] there and \[10, 8\] here\); "
                                        r"pass model.init_strict=false"):  # fmt: skip
        train(runs, *SMALL, f"model.init_from={file}")
    caplog.set_level("INFO", logger="kiln")
    train(runs, *SMALL, f"model.init_from={file}", "model.init_strict=false",
          "trainer.limit_train_batches=1")  # fmt: skip
    (line,) = [r.message for r in caplog.records if "model.init_from=" in r.message]
    n = len(network(start))
    assert line.endswith(
        f"loaded {n - 2} of {n} tensors; skipped 2 from the file (head.3.weight, extra.weight); "
        "2 keep their fresh values (head.3.weight, head.3.bias)"
    )


def test_bad_paths_and_patterns_are_one_sentence(runs, tmp_path, start):
    with pytest.raises(
        KilnError, match=r"^model.init_from=\S+nothing.ckpt is not a file; pass a kiln"
    ):
        train(runs, *SMALL, f"model.init_from={tmp_path / 'nothing.ckpt'}")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not weights")
    with pytest.raises(KilnError, match=r"could not be read as weights"):
        train(runs, *SMALL, f"model.init_from={junk}")
    planted = tmp_path / "planted"
    evil = tmp_path / "evil.ckpt"  # a pickle that would run code: weights_only refuses it
    torch.save({"state_dict": {}, "x": Planter(str(planted))}, evil)
    with pytest.raises(KilnError, match=r"could not be read as weights \(UnpicklingError\)"):
        train(runs, *SMALL, f"model.init_from={evil}")
    assert not planted.exists()
    with pytest.raises(KilnError, match=r"^model.freeze pattern 'trunk\.\*' matches no parameter"):
        train(runs, *SMALL, "model.freeze=[trunk.*]")
    with pytest.raises(KilnError, match=r"^model.freeze froze every parameter"):
        train(runs, *SMALL, "model.freeze=['*']")
    proc = cli("train", *SMALL, "model.freeze=[trunk]", runs=runs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "model.freeze pattern 'trunk' matches no parameter" in proc.stderr
