"""KILN_SIGNING_KEY: kiln export signs metadata.json (HMAC-SHA256), and loading with the key
refuses an unsigned artifact, a wrong key, and any edit, even one that recomputes every hash.
The key itself is written nowhere."""

from __future__ import annotations

import shutil

import pytest

import kiln
import kiln.api
from kiln.errors import KilnError
from tests.helpers import cli
from tests.helpers.tampering import copy_of, one_sentence, rehash, rewrite

KEY = "kiln-test-signing-key-7f3a9c21d4e8b605"
OTHER = "another-key-that-is-long-enough-0000"


@pytest.fixture(scope="module")
def signed(penguins_ckpt, tmp_path_factory):
    """A real kiln export with the key set; returns (artifact, the export's runs root)."""
    root = tmp_path_factory.mktemp("signed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KILN_SIGNING_KEY", KEY)
        mp.delenv("KILN_SIGNING_KEY_FILE", raising=False)
        out = root / "penguins"
        kiln.api.run("export", [f"ckpt_path={penguins_ckpt}", f"out={out}", f"paths.root={root}"])
    return out, root


@pytest.fixture
def key(monkeypatch):
    monkeypatch.delenv("KILN_SIGNING_KEY_FILE", raising=False)
    monkeypatch.setenv("KILN_SIGNING_KEY", KEY)


def refused(artifact, match):
    with pytest.raises(KilnError, match=match) as err:
        kiln.load(artifact)
    assert one_sentence(str(err.value)), str(err.value)


def test_a_signed_artifact_loads_with_its_key(signed, key, penguins_rows):
    artifact, _ = signed
    assert (artifact / "signature.json").is_file()
    assert len(kiln.load(artifact).predict(penguins_rows.head(3))) == 3


def test_the_key_is_written_nowhere(signed):
    _, root = signed
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "signature.json" for p in files)
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p


@pytest.mark.parametrize(
    "tamper",
    ["relabel", "weights, rehashed", "graph swapped, rehashed", "metadata reformatted"],
)
def test_an_edit_is_refused_with_the_key_even_with_hashes_recomputed(signed, key, tamper, tmp_path):
    artifact, _ = signed
    copy = copy_of(artifact, tmp_path)
    if tamper == "relabel":
        rewrite(copy, lambda m: m.__setitem__("labels", ["Gentoo", "Adelie", "Chinstrap"]))
    elif tamper == "weights, rehashed":
        data = bytearray((copy / "weights.safetensors").read_bytes())
        data[-1] ^= 1
        (copy / "weights.safetensors").write_bytes(bytes(data))
        rehash(copy, "weights.safetensors")
    elif tamper == "graph swapped, rehashed":
        (copy / "model.onnx").write_bytes(b"another model's graph")
        rehash(copy, "model.onnx")
    else:
        rewrite(copy, lambda m: None)  # same content, other bytes: the signature is over bytes
    refused(copy, "signature.json does not match metadata.json under this signing key")


def test_a_wrong_key_is_refused(signed, monkeypatch):
    monkeypatch.setenv("KILN_SIGNING_KEY", OTHER)
    refused(signed[0], "does not match metadata.json under this signing key")


def test_a_missing_or_broken_signature_is_refused(signed, key, tmp_path):
    copy = copy_of(signed[0], tmp_path)
    (copy / "signature.json").write_text("{not json")
    refused(copy, "does not match metadata.json")
    (copy / "signature.json").unlink()
    refused(copy, "is not signed .* export it again with the key set")


def test_an_unsigned_artifact_is_refused_when_the_key_is_set(penguins_artifact, key):
    refused(penguins_artifact, "is not signed")


def test_a_key_file_works_as_the_variable_does(signed, tmp_path, monkeypatch):
    monkeypatch.delenv("KILN_SIGNING_KEY", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv("KILN_SIGNING_KEY_FILE", str(key_file))
    assert kiln.load(signed[0]).labels
    key_file.write_text(OTHER + "\n")
    refused(signed[0], "does not match")


def test_bad_keys_are_refused_in_one_sentence(signed, tmp_path, monkeypatch):
    monkeypatch.setenv("KILN_SIGNING_KEY", "short")
    with pytest.raises(KilnError, match="5 bytes, under 16; use a random key"):
        kiln.load(signed[0])
    monkeypatch.setenv("KILN_SIGNING_KEY_FILE", str(tmp_path / "nowhere"))
    with pytest.raises(KilnError, match="Both KILN_SIGNING_KEY and KILN_SIGNING_KEY_FILE"):
        kiln.load(signed[0])
    monkeypatch.delenv("KILN_SIGNING_KEY", raising=False)
    with pytest.raises(KilnError, match="nowhere cannot be read"):
        kiln.load(signed[0])


def test_export_with_a_bad_key_writes_nothing(penguins_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("KILN_SIGNING_KEY", "")
    out = tmp_path / "art"
    with pytest.raises(KilnError, match="0 bytes"):
        kiln.api.run(
            "export", [f"ckpt_path={penguins_ckpt}", f"out={out}", f"paths.root={tmp_path}"]
        )
    assert not out.exists() and not list(tmp_path.glob(".art*"))


def test_serve_refuses_a_tampered_signed_artifact(signed, tmp_path):
    """A real `kiln serve` with the key: relabelled answers never start serving."""
    copy = copy_of(signed[0], tmp_path)
    rewrite(copy, lambda m: m.__setitem__("labels", ["Gentoo", "Adelie", "Chinstrap"]))
    env = {"KILN_SIGNING_KEY": KEY}
    proc = cli("serve", f"artifact={copy}", "port=0", runs=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "does not match metadata.json under this signing key" in proc.stderr
    assert "Traceback" not in proc.stderr and "http://" not in proc.stdout
    assert KEY not in proc.stderr + proc.stdout
    shutil.rmtree(copy)
