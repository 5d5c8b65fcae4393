"""Drift matches every feature by name, on a table whose columns are not in alphabetical order
(zeta, x9, alpha, x1): the checkpoint's profile, the artifact's (metadata.json is written with
sorted keys), `kiln drift` from either, and the server's window. A clean sample of the training
data is not drift; a new category in zeta is drift in zeta and nowhere else."""

from __future__ import annotations

import json
import shutil

import httpx
import numpy as np
import pandas as pd
import pytest

import kiln.api
from kiln.monitoring.features import Featurizer
from kiln.serving.artifact import METADATA, content_hash
from kiln.serving.predictor import Predictor
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import train
from tests.helpers.server import live_server, to_records

COLUMNS = ["zeta", "x9", "alpha", "x1", "target"]


def table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    zeta = rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1])
    x1 = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "zeta": zeta,
            "x9": rng.normal(100.0, 5.0, n),  # a scale x1 cannot be mistaken for
            "alpha": rng.choice(["a", "b", "c", "d", "e"], n),
            "x1": x1,
            "target": ((x1 + (zeta == "p")) > 0.5).astype(int),
        }
    )
    return df[COLUMNS]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("order")
    df = table()
    df.to_csv(root / "train.csv", index=False)
    result = train(
        root / "runs",
        "data=table",
        f"data.path={root / 'train.csv'}",
        "data.target=target",
        "model=mlp",
        "trainer.max_epochs=2",
        "logger=none",
    )
    ckpt = result["best_checkpoint"]
    art = root / "artifact"
    kiln.api.run("export", [f"ckpt_path={ckpt}", f"out={art}", f"paths.root={root / 'runs'}"])
    clean = df.drop(columns="target").sample(200, random_state=1).reset_index(drop=True)
    new = clean.copy()
    new.loc[:99, "zeta"] = "never_seen"  # half the rows carry a category training never had
    clean.to_csv(root / "clean.csv", index=False)
    new.to_csv(root / "new.csv", index=False)
    return {"root": root, "df": df, "ckpt": ckpt, "artifact": art, "clean": clean, "new": new}


def check_profile(profile: dict, df: pd.DataFrame) -> None:
    feat = Featurizer.from_dict(json.loads(json.dumps(profile["featurizer"], sort_keys=True)))
    assert list(feat.labels) == ["zeta", "alpha"] and feat.numeric == ["x9", "x1"]
    zeta = profile["features"]["zeta"]["counts"]
    assert "<out of range>" not in zeta and zeta["p"] > zeta["q"] > zeta["r"] > 0
    alpha = profile["features"]["alpha"]["counts"]
    assert "<out of range>" not in alpha and all(alpha[v] > 0 for v in "abcde")
    assert profile["features"]["x9"]["mean"] == pytest.approx(df["x9"].mean(), abs=2.0)
    assert profile["features"]["x1"]["mean"] == pytest.approx(df["x1"].mean(), abs=0.5)


def test_checkpoint_profile_matches_columns_by_name(trained):
    check_profile(load_checkpoint(trained["ckpt"])["kiln"]["profile"], trained["df"])


def test_artifact_profile_keeps_the_file_order(trained):
    meta = json.loads((trained["artifact"] / METADATA).read_text())
    assert meta["profile"]["featurizer"]["categorical_order"] == ["zeta", "alpha"]
    check_profile(meta["profile"], trained["df"])


def drift(trained, reference: str, data: str) -> dict:
    ref = trained["ckpt"] if reference == "ckpt_path" else trained["artifact"]
    return kiln.api.run(
        "drift",
        [
            f"paths.root={trained['root'] / 'runs'}",
            f"{reference}={ref}",
            f"input={trained['root'] / data}",
        ],
    )


@pytest.mark.parametrize("reference", ["ckpt_path", "artifact"])
def test_kiln_drift_clean_sample_is_not_drift_and_new_category_is_in_zeta(trained, reference):
    clean = drift(trained, reference, "clean.csv")
    assert clean["drifted_features"] == [] and clean["exit_code"] == 0, clean["features"]
    new = drift(trained, reference, "new.csv")
    assert new["drifted_features"] == ["zeta"] and new["exit_code"] == 3
    assert not new["features"]["alpha"]["drifted"]


def test_artifact_exported_without_the_order_reads_it_from_its_schema(trained, tmp_path):
    """An artifact written before categorical_order was kept (sorted keys, no order)."""
    old = tmp_path / "old"
    shutil.copytree(trained["artifact"], old)
    meta = json.loads((old / METADATA).read_text())
    del meta["profile"]["featurizer"]["categorical_order"]
    meta["content_hash"] = content_hash(meta)
    (old / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
    assert list(Predictor(old).meta["profile"]["featurizer"]["categorical"]) == ["alpha", "zeta"]
    assert Predictor(old).meta["profile"]["featurizer"]["categorical_order"] == ["zeta", "alpha"]
    trained = {**trained, "artifact": old}
    assert drift(trained, "artifact", "clean.csv")["drifted_features"] == []
    assert drift(trained, "artifact", "new.csv")["drifted_features"] == ["zeta"]


def post(url: str, rows: pd.DataFrame) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        for i in range(0, len(rows), 50):
            r = c.post("/predict", json=to_records(rows.iloc[i : i + 50]))
            assert r.status_code == 200, r.text


def test_server_window_matches_columns_by_name(trained):
    settings = {"drift_window": 200, "drift_every": 50, "drift_min_rows": 100}
    with live_server(trained["artifact"], **settings) as (url, _):
        post(url, trained["clean"])
        clean = httpx.get(f"{url}/drift").json()
        post(url, trained["new"])
        new = httpx.get(f"{url}/drift").json()
    assert clean["status"] == "ok" and clean["drifted_features"] == [], clean["features"]
    assert new["status"] == "ok" and new["drifted_features"] == ["zeta"], new["features"]
