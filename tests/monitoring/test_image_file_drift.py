"""kiln drift for a model of image files: a folder goes through the training decoder (uint8
NHWC at the model's size), a fresh folder of the same classes passes and a brightened one
drifts, from the artifact and from the checkpoint alike."""

import numpy as np
import pytest
from PIL import Image

import kiln.api
from kiln.errors import KilnError
from kiln.monitoring.images import read_image_folder
from kiln.training.checkpoints import load_checkpoint
from tests.helpers.images import train_image_model, two_classes


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("image_drift")
    made = train_image_model(root, 40)
    made["clean"] = two_classes(root / "clean", per_class=25, seed=7)
    shifted = root / "shifted"
    for f in sorted(made["clean"].rglob("*.png")):
        a = np.asarray(Image.open(f)).astype(int)
        (shifted / f.parent.name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(a + 70, 0, 255).astype(np.uint8)).save(
            shifted / f.parent.name / f.name
        )
    made["shifted"] = shifted
    return made


def drift(model, reference: str, folder) -> dict:
    return kiln.api.run(
        "drift", [f"paths.root={model['runs']}", reference, f"input={folder}", "max_plots=1"]
    )


def test_the_profile_is_on_the_pixels_the_model_takes(model):
    feat = load_checkpoint(model["ckpt"])["kiln"]["profile"]["featurizer"]
    assert feat["layout"] == "NHWC" and feat["pixel_range"] == [0.0, 255.0]
    assert feat["numeric"][:6] == [f"channel{c}_{s}" for c in range(3) for s in ("mean", "std")]
    x = read_image_folder(
        model["clean"], (3, 8, 8), None, {"size": [8, 8], "channels": 3, "fit": "crop"}
    )
    assert x.dtype == np.uint8 and x.shape == (50, 8, 8, 3)


@pytest.mark.parametrize("source", ["artifact", "ckpt"])
def test_clean_passes_and_brightened_drifts(model, source):
    ref = f"artifact={model['artifact']}" if source == "artifact" else f"ckpt_path={model['ckpt']}"
    clean = drift(model, ref, model["clean"])
    assert clean["rows"] == 50 and clean["exit_code"] == 0, clean["drifted_features"]
    shifted = drift(model, ref, model["shifted"])
    assert shifted["exit_code"] == 3 and shifted["dataset_drift"]
    assert {"channel0_mean", "channel1_mean", "channel2_mean"} <= set(shifted["drifted_features"])


def test_an_array_of_pixels_drifts_like_its_folder(model, tmp_path):
    image = {"size": [8, 8], "channels": 3, "fit": "crop"}
    np.save(tmp_path / "shifted.npy", read_image_folder(model["shifted"], (3, 8, 8), None, image))
    ref = f"artifact={model['artifact']}"
    from_array = drift(model, ref, tmp_path / "shifted.npy")
    from_folder = drift(model, ref, model["shifted"])
    assert from_array["drifted_features"] == from_folder["drifted_features"]
    for name, feature in from_folder["features"].items():
        assert from_array["features"][name]["statistic"] == pytest.approx(feature["statistic"])
    np.save(tmp_path / "nchw.npy", np.zeros((4, 3, 8, 8), np.uint8))
    with pytest.raises(KilnError, match=r"shape \(3, 8, 8\) but the model takes \(8, 8, 3\)"):
        drift(model, ref, tmp_path / "nchw.npy")


def test_a_bad_file_in_the_batch_is_named(model, tmp_path):
    two_classes(tmp_path, per_class=2)
    (tmp_path / "dark" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(KilnError, match=r"dark/bad.png is not an image Pillow can read"):
        drift(model, f"artifact={model['artifact']}", tmp_path)
