"""Every new model config composes with every compatible data config and trains a few steps;
an incompatible pair names the model, the kind of data and the models that fit it."""

import math

import pytest

from kiln.errors import KilnError
from kiln.models import models_for
from tests.helpers import train

SMALL_MOTIF = ["data.motif.n=200", "data.motif.min_len=12", "data.motif.max_len=20"]
SMALL_SEQ = ["model.d_model=16", "model.heads=2", "model.layers=1"]
PAIRS = [
    ("resmlp", "wine", []),
    ("resmlp", "diabetes", []),
    ("resmlp", "sunspots", []),
    ("ft_transformer", "breast_cancer", ["model.d_model=16", "model.layers=1"]),
    ("resnet", "digits", ["model.channels=[8,16]", "model.blocks_per_stage=1"]),
    ("mlp", "sunspots", []),
    ("mlp", "dna_motif", ["data.features=counts", *SMALL_MOTIF]),
    ("lstm", "dna_motif", SMALL_MOTIF),
    ("bag_of_embeddings", "dna_motif", SMALL_MOTIF),
    ("gru", "sunspots", ["model.bidirectional=true"]),
    (
        "transformer",
        "dna_motif",
        [*SMALL_SEQ, *SMALL_MOTIF, "model.conv_kernel=3", "model.pool=max"],
    ),
    ("transformer", "sunspots", [*SMALL_SEQ, "model.causal=true", "model.pool=last"]),
]


@pytest.mark.parametrize("model,data,extra", PAIRS, ids=[f"{m}-{d}" for m, d, _ in PAIRS])
def test_model_trains_a_few_steps(runs, model, data, extra):
    forecast = data == "sunspots"
    result = train(
        runs,
        f"model={model}",
        f"data={data}",
        "debug=fast",
        "monitor.metric=val/loss",
        "monitor.mode=min",
        "logger=none",
        *extra,
    )
    names = (
        ("test/rmse", "test/mae", "test/r2")
        if forecast or data == "diabetes"
        else ("test/acc", "test/f1")
    )
    for name in (*names, "test/loss", "val/loss_best"):
        assert math.isfinite(result[name]), name


@pytest.mark.parametrize(
    "model,data,cls,kind",
    [
        ("transformer", "wine", "SequenceTransformer", "tabular"),
        ("ft_transformer", "sunspots", "FTTransformer", "sequence"),
        ("resnet", "dna_motif", "ResNet", "tokens"),
    ],
)
def test_an_incompatible_pair_names_model_kind_and_fitting_models(runs, model, data, cls, kind):
    fitting = ", ".join(models_for(kind))
    with pytest.raises(KilnError, match=rf"model {cls} does not take {kind} data .*: {fitting}\.$"):
        train(
            runs,
            f"model={model}",
            f"data={data}",
            "debug=fast",
            *SMALL_MOTIF * (data == "dna_motif"),
        )
