"""Token models (LSTM, GRU, Transformer over padded DNA sequences with their lengths) export
to both formats and the artifact answers like the checkpoint's module."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

import kiln
import kiln.api
from kiln.errors import KilnError
from kiln.serving.export import ExportPipeline
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint

TINY = ["data=dna_motif", "data.motif.n=240", "data.motif.min_len=8", "data.motif.max_len=14"]
MODELS = {
    # one layer here (each step of each layer is traced); test_the_export_path_equals_the_packed_one
    # holds two layers, both directions, to the packed path
    "lstm": ["model=lstm", "model.bidirectional=true", "model.layers=1", "model.hidden=8"],
    "gru": ["model=gru", "model.hidden=8"],
    "transformer": ["model=transformer", "model.d_model=16", "model.layers=1", "model.heads=2"],
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def token_ckpt(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"tokens_{request.param}")
    result = kiln.api.run(
        "train",
        [f"paths.root={root}", "print_config=false", "logger=none", "trainer.max_epochs=1",
         "~callbacks.confusion_matrix", *TINY, *MODELS[request.param]],
    )  # fmt: skip
    return root, result["best_checkpoint"]


def module_and_test_split(ckpt_path):
    ckpt = load_checkpoint(str(ckpt_path))
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"])
    return ExportPipeline(module).eval(), [t.numpy() for t in dm.splits["test"][:-1]]


@pytest.mark.parametrize("fmt", ["onnx", "torch"])
def test_token_model_exports_and_answers_like_the_checkpoint(token_ckpt, fmt):
    root, ckpt = token_ckpt
    out = root / f"art_{fmt}"
    kiln.api.run(
        "export", [f"ckpt_path={ckpt}", f"out={out}", f"paths.root={root}", f"format={fmt}"]
    )
    predictor = kiln.load(out)
    assert predictor.backend == fmt
    pipeline, test = module_and_test_split(ckpt)
    assert len(test) == 2 and len(np.unique(test[1])) > 1  # padded tokens and their lengths
    with torch.inference_mode():
        expected = pipeline(*(torch.from_numpy(a) for a in test)).numpy()
    for n in (1, 5, len(test[0])):  # any batch size
        got = predictor.run([a[:n] for a in test])
        assert np.abs(got - expected[:n]).max() <= 1e-5
    # strings, records, frames and files are encoded with the stored vocabulary (ACGT)
    ids = np.zeros((1, predictor.schema.tokenizer.max_len), dtype=np.int64)
    ids[0, :6] = [2, 3, 4, 5, 2, 3]  # "ACGTAC": A=2, C=3, G=4, T=5, then padding
    want = predictor.run([ids, np.array([6])])
    for data in ("ACGTAC", ["ACGTAC"], pd.DataFrame({"text": ["ACGTAC"]}), {"text": "ACGTAC"}):
        got = predictor.predict(data)["proba_1"].to_numpy()
        assert np.abs(got - want).max() <= 1e-6
    csv = root / f"texts_{fmt}.csv"
    pd.DataFrame({"text": ["ACGTAC"]}).to_csv(csv, index=False)
    out = root / f"p_{fmt}.csv"
    kiln.api.run(
        "predict", [f"artifact={out.parent / f'art_{fmt}'}", f"input={csv}", f"output={out}",
                    f"paths.root={root}"],
    )  # fmt: skip
    assert np.abs(pd.read_csv(out)["proba_1"].to_numpy() - want).max() <= 1e-5


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_export_path_equals_the_packed_one(cell, bidirectional):
    """The step-by-step recurrence export traces gives the packed sequences' final states."""
    from kiln.models.rnn import RNN

    torch.manual_seed(0)
    m = RNN((20,), 3, cell=cell, hidden=8, layers=2, bidirectional=bidirectional,
            embed_dim=5, vocab_size=6).eval()  # fmt: skip
    tokens = torch.randint(1, 6, (7, 20))
    lengths = torch.tensor([20, 1, 5, 13, 0, 19, 2])
    for i, n in enumerate(lengths.tolist()):
        tokens[i, max(n, 1) :] = 0
    with torch.no_grad():
        for lens in (lengths, None):
            x = tokens if lens is None else (tokens, lens)
            packed = m(x)
            masked = m.head(torch.cat(m.masked_final_states(m.embed(tokens), lens), -1))
            assert (packed - masked).abs().max() <= 1e-6


def test_a_model_of_token_counts_refuses_format_torch_before_work(tmp_path):
    """Base counts (data.features=counts) export as ONNX (tests/serving/test_char_text_deploy.py);
    format=torch cannot rebuild their fitted preprocessor: one sentence, before any file."""
    result = kiln.api.run(
        "train",
        [f"paths.root={tmp_path}", "print_config=false", "logger=none", "trainer.max_epochs=1",
         "~callbacks.confusion_matrix", *TINY, "data.features=counts", "model=mlp"],
    )  # fmt: skip
    out = tmp_path / "art"
    with pytest.raises(KilnError, match="format=torch cannot rebuild"):
        kiln.api.run(
            "export",
            [f"ckpt_path={result['best_checkpoint']}", f"out={out}", "format=torch",
             f"paths.root={tmp_path}"],
        )  # fmt: skip
    assert not out.exists()
