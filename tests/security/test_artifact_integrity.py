"""The artifact's file list is complete and required: an empty or partial list, a file added or
removed, is refused by kiln.load, kiln predict and kiln serve, each in one sentence. Without a
key the hashes catch accidents only (a consistent re-hash passes, as docs/deployment.md says)."""

from __future__ import annotations

import json

import pytest

import kiln
import kiln.api
from kiln.errors import KilnError
from kiln.serving.artifact import METADATA
from tests.helpers import cli
from tests.helpers.tampering import copy_of, one_sentence, rewrite


def drop(name):
    return lambda m: m["files"].pop(name)


def empty_list(m):
    m["files"] = {}


def no_list(m):
    del m["files"]


def add_file(a):
    (a / "extra.onnx").write_bytes(b"another model")


def add_listed_outside(a):
    rewrite(a, lambda m: m["files"].__setitem__("../outside", "0" * 64))


def remove_and_unlist(a):
    (a / "weights.safetensors").unlink()
    rewrite(a, drop("weights.safetensors"))


def remove_onnx_and_unlist(a):
    (a / "model.onnx").unlink()
    rewrite(a, drop("model.onnx"))


CASES = {
    "empty list": (lambda a: rewrite(a, empty_list), "lists no files"),
    "no list": (lambda a: rewrite(a, no_list), "lists no files"),
    "weights unlisted": (
        lambda a: rewrite(a, drop("weights.safetensors")),
        "does not list weights",
    ),
    "graph unlisted": (lambda a: rewrite(a, drop("model.onnx")), "does not list model.onnx"),
    "file added": (add_file, "extra.onnx is not listed in metadata.json"),
    "listed outside": (add_listed_outside, "outside is missing"),
    "file removed": (remove_and_unlist, "does not list weights.safetensors"),
    "graph removed": (remove_onnx_and_unlist, "does not list model.onnx"),
    "file removed, still listed": (
        lambda a: (a / "model.onnx").unlink(),
        "model.onnx is missing",
    ),
    "unknown format": (
        lambda a: rewrite(a, lambda m: m.__setitem__("format", "pickle")),
        "names format 'pickle'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_incomplete_file_list_is_refused_by_load(case, penguins_artifact, tmp_path):
    tamper, message = CASES[case]
    copy = copy_of(penguins_artifact, tmp_path)
    tamper(copy)
    with pytest.raises(KilnError, match=message) as err:
        kiln.load(copy)
    assert one_sentence(str(err.value))


def test_kiln_predict_refuses_an_empty_file_list(penguins_artifact, penguins_rows, tmp_path):
    copy = copy_of(penguins_artifact, tmp_path)
    rewrite(copy, empty_list)
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    penguins_rows.head(5).to_csv(src, index=False)
    proc = cli("predict", f"artifact={copy}", f"input={src}", f"output={out}", runs=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "lists no files" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_kiln_serve_refuses_to_start_with_a_file_added(penguins_artifact, tmp_path):
    copy = copy_of(penguins_artifact, tmp_path)
    add_file(copy)
    proc = cli("serve", f"artifact={copy}", "port=0", runs=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "extra.onnx is not listed in metadata.json" in proc.stderr
    assert "Traceback" not in proc.stderr and "http://" not in proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_exported_list_names_every_file(penguins_artifact):
    meta = json.loads((penguins_artifact / METADATA).read_text())
    on_disk = {p.name for p in penguins_artifact.iterdir()} - {METADATA, "signature.json"}
    assert set(meta["files"]) == on_disk == {"model.onnx", "weights.safetensors"}


def test_without_a_key_a_consistent_rehash_is_not_caught(penguins_artifact, tmp_path, monkeypatch):
    """The documented limit: unkeyed hashes catch accidents, not a deliberate edit."""
    monkeypatch.delenv("KILN_SIGNING_KEY", raising=False)
    monkeypatch.delenv("KILN_SIGNING_KEY_FILE", raising=False)
    copy = copy_of(penguins_artifact, tmp_path)
    rewrite(copy, lambda m: m.__setitem__("labels", ["x", "y", "z"]))
    assert kiln.load(copy).labels == ["x", "y", "z"]
    with open(copy / "weights.safetensors", "ab") as f:  # an accident: a byte more
        f.write(b"\0")
    with pytest.raises(KilnError, match="weights.safetensors does not match its hash"):
        kiln.load(copy)


def test_a_graph_swapped_after_the_check_is_not_run(penguins_artifact, tmp_path, monkeypatch):
    """The model's bytes are read once and checked: a valid graph swapped in between the check of
    the file list and the load (a race) is refused, not run."""
    import onnx
    from onnx import numpy_helper

    import kiln.serving.predictor as predictor_module
    from kiln.serving.artifact import read_metadata

    copy = copy_of(penguins_artifact, tmp_path)
    model = onnx.load(str(copy / "model.onnx"))
    first = model.graph.initializer[0]
    first.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(first) + 1, first.name))
    other = model.SerializeToString()

    def check_then_swap(directory, verify=True):
        meta = read_metadata(directory, verify=verify)
        (copy / "model.onnx").write_bytes(other)
        return meta

    monkeypatch.setattr(predictor_module, "read_metadata", check_then_swap)
    with pytest.raises(KilnError, match="model.onnx does not match its hash"):
        kiln.load(copy)
