"""A model of image files from training to every way it is deployed: the ONNX graph takes
uint8 (N, H, W, C) and answers probabilities within 1e-4 of the checkpoint, through real files
(kiln predict on a folder and on a CSV of paths, kiln.load(...).predict on paths, PIL images
and arrays) and a real server on 127.0.0.1 (base64 JSON and multipart uploads), which refuses
a decompression bomb from its header."""

import base64

import httpx
import numpy as np
import onnx
import pandas as pd
import pytest
from PIL import Image

import kiln
import kiln.api
from kiln.data.images import decode_image
from kiln.tasks.drift import model_predictor
from kiln.training.checkpoints import load_checkpoint
from tests.helpers.images import bomb_png, train_image_model
from tests.helpers.server import live_server

TOL = 1e-4


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    made = train_image_model(tmp_path_factory.mktemp("image_model"))
    made["files"] = sorted(made["data"].rglob("*.png"))
    pixels = np.stack([decode_image(f, (8, 8), 3) for f in made["files"]])
    made["want"] = model_predictor(load_checkpoint(made["ckpt"]))([pixels])  # the checkpoint
    return made


def test_the_graph_takes_uint8_nhwc(model):
    graph = onnx.load(model["artifact"] / "model.onnx").graph
    (x,) = graph.input
    assert x.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in x.type.tensor_type.shape.dim][1:] == [8, 8, 3]
    want = model["want"]
    assert want.shape == (len(model["files"]),) and ((want > 0) & (want < 1)).all()  # binary


def test_load_predict_paths_pil_and_arrays(model):
    predictor = kiln.load(model["artifact"])
    files = model["files"]
    by_path = predictor.predict([str(f) for f in files])
    np.testing.assert_allclose(by_path["proba_dark"], model["want"], atol=TOL)
    mixed = [files[0], Image.open(files[1]), np.asarray(Image.open(files[2]))]
    got = predictor.predict(mixed)
    np.testing.assert_allclose(got["proba_dark"], model["want"][:3], atol=TOL)
    assert list(got.columns) == ["prediction", "proba_bright", "proba_dark"]
    assert predictor.predict(str(files[0]))["prediction"].tolist() == [by_path["prediction"][0]]
    batch = np.stack([decode_image(f, (8, 8), 3) for f in files[:4]])  # uint8 (N, H, W, C)
    np.testing.assert_allclose(predictor.predict(batch)["proba_dark"], model["want"][:4], atol=TOL)
    with pytest.raises(kiln.errors.KilnError, match="predict got no images"):
        predictor.predict([])


def test_kiln_predict_on_a_folder_and_a_csv(model, tmp_path):
    out = tmp_path / "folder.csv"
    kiln.api.run("predict", [f"artifact={model['artifact']}", f"input={model['data']}",
                             f"output={out}", f"paths.root={tmp_path}"])  # fmt: skip
    got = pd.read_csv(out)
    assert got["path"].tolist() == [str(f) for f in model["files"]]
    np.testing.assert_allclose(got["proba_dark"], model["want"], atol=TOL)
    listing = model["data"] / "list.csv"
    rel = [str(f.relative_to(model["data"])) for f in model["files"]]
    pd.DataFrame({"path": rel, "note": range(len(rel))}).to_csv(listing, index=False)
    out2 = tmp_path / "listed.parquet"
    kiln.api.run("predict", [f"artifact={model['artifact']}", f"input={listing}",
                             f"output={out2}", f"paths.root={tmp_path}", "chunk_rows=5"])  # fmt: skip
    got2 = pd.read_parquet(out2)
    assert got2["path"].tolist() == rel and got2["note"].tolist() == list(range(len(rel)))
    np.testing.assert_allclose(got2["proba_dark"], model["want"], atol=TOL)
    listing.unlink()
    with pytest.raises(kiln.errors.KilnError, match="already exists"):  # never overwritten
        kiln.api.run("predict", [f"artifact={model['artifact']}", f"input={model['data']}",
                                 f"output={out}", f"paths.root={tmp_path}"])  # fmt: skip


def test_server_answers_base64_and_uploads_like_the_checkpoint(model):
    files = model["files"][:6]
    blobs = [f.read_bytes() for f in files]
    want = model["want"][:6]
    with live_server(model["artifact"], max_rows=8, drift_min_rows=5, drift_every=1) as (url, _):
        one = httpx.post(f"{url}/predict", json={"image": base64.b64encode(blobs[0]).decode()})
        assert one.status_code == 200
        assert one.json()["probabilities"]["dark"] == pytest.approx(want[0], abs=TOL)
        batch = [{"image": base64.b64encode(b).decode()} for b in blobs]
        got = httpx.post(f"{url}/predict", json=batch).json()["predictions"]
        np.testing.assert_allclose([g["probabilities"]["dark"] for g in got], want, atol=TOL)
        parts = [("image", (f.name, b, "image/png")) for f, b in zip(files, blobs, strict=True)]
        up = httpx.post(f"{url}/predict", files=parts)
        assert up.status_code == 200, up.text
        got = [g["probabilities"]["dark"] for g in up.json()["predictions"]]
        np.testing.assert_allclose(got, want, atol=TOL)
        drift = httpx.get(f"{url}/drift").json()
        assert drift["status"] == "ok" and drift["window_rows"] == 13
        assert "channel0_mean" in drift["features"]
        meta = httpx.get(f"{url}/metadata").json()
        assert meta["inputs"]["kind"] == "image" and meta["inputs"]["image"]["size"] == [8, 8]


def test_server_refuses_bad_images(model):
    with live_server(model["artifact"], max_rows=4, max_body_bytes=200_000) as (url, _):
        bomb = httpx.post(
            f"{url}/predict", files=[("image", ("bomb.png", bomb_png(9000), "image/png"))]
        )
        assert bomb.status_code == 413
        assert "bomb.png) is 9000x9000 = 81,000,000 pixels, over the limit" in bomb.json()["detail"]
        cut = model["files"][0].read_bytes()[:40]
        bad = httpx.post(f"{url}/predict", json=[{"image": base64.b64encode(cut).decode()}])
        assert bad.status_code == 422 and bad.json()["detail"].startswith(
            "the record (field 'image')"
        )
        junk = httpx.post(f"{url}/predict", json={"image": "not base64!"})
        assert junk.status_code == 422 and "not valid base64" in junk.json()["detail"]
        many = [("image", (f"{i}.png", b"x", "image/png")) for i in range(5)]
        assert httpx.post(f"{url}/predict", files=many).status_code == 413
        huge = httpx.post(
            f"{url}/predict", files=[("image", ("a.png", b"0" * 300_000, "image/png"))]
        )
        assert huge.status_code == 413
        text = httpx.post(
            f"{url}/predict", content=b"a.png", headers={"content-type": "text/plain"}
        )
        assert (
            text.status_code == 415 and "multipart (curl -F image=@a.png)" in text.json()["detail"]
        )
        no_file = httpx.post(f"{url}/predict", files={"note": (None, "text")})
        assert no_file.status_code == 422 and "no file parts" in no_file.json()["detail"]
        # JSON names no file of the server's: a path string is not a record, nor is a number
        local = str(model["files"][0].resolve())
        for body in ([local], local, [1], [[0]]):
            answer = httpx.post(f"{url}/predict", json=body)
            assert answer.status_code == 422, body
            assert "send a" in answer.json()["detail"], body
