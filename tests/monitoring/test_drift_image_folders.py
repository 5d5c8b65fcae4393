"""kiln drift on folders of image files: real PNGs written by Pillow read back on the training
data's scale, the clean digits folder passes and the brightened one drifts, from a checkpoint
and from an exported artifact; bad folders get one sentence and exit 2."""

import numpy as np
import pytest
from PIL import Image

import kiln.api
from kiln.errors import KilnError
from kiln.monitoring.images import read_image_folder
from kiln.monitoring.shift import write_deployed_sets
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import cli, train


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("image_folders")
    runs = root / "runs"
    result = train(runs, "trainer.max_epochs=1", "logger=none", "~callbacks.confusion_matrix")
    sets = write_deployed_sets(root / "deployed", brightness=0.25, contrast=0.6, png=True)
    return {"runs": runs, "ckpt": result["best_checkpoint"], **sets}


def drift(digits, reference: str, path) -> dict:
    return kiln.api.run(
        "drift", [f"paths.root={digits['runs']}", reference, f"input={path}", "max_plots=1"]
    )


def test_png_folder_reads_back_the_arrays(digits):
    profile = load_checkpoint(digits["ckpt"])["kiln"]["profile"]
    assert profile["featurizer"]["pixel_range"] == [0.0, 16.0]  # digits' black and white
    for name in ("clean", "shifted"):
        x = read_image_folder(digits[f"{name}_png"], (1, 8, 8), [0.0, 16.0])
        want = np.load(digits[name])["x"]
        assert x.shape == want.shape == (540, 1, 8, 8)
        np.testing.assert_allclose(x, want, atol=16 / 255 / 2 + 1e-5)  # 8-bit rounding


def test_rgb_jpeg_of_another_size_is_grey_and_resized(tmp_path):
    Image.new("RGB", (24, 16), (200, 100, 50)).save(tmp_path / "a.jpg", quality=95)
    x = read_image_folder(tmp_path, (1, 8, 8), [0.0, 16.0])
    grey = 0.299 * 200 + 0.587 * 100 + 0.114 * 50  # Pillow's L conversion (ITU-R 601-2)
    np.testing.assert_allclose(x, grey / 255 * 16, atol=2 * 16 / 255)  # JPEG is lossy
    Image.new("L", (8, 8), 255).save(tmp_path / "b.png")  # also: channels for an RGB model
    rgb = read_image_folder(tmp_path, (3, 8, 8), [0.0, 1.0])
    assert rgb.shape == (2, 3, 8, 8) and np.allclose(rgb[1], 1.0)


@pytest.mark.parametrize("source", ["ckpt", "artifact"])
def test_clean_folder_passes_and_brightened_folder_drifts(digits, source, tmp_path):
    if source == "ckpt":
        ref = f"ckpt_path={digits['ckpt']}"
    else:
        out = tmp_path / "artifact"
        kiln.api.run(
            "export", [f"ckpt_path={digits['ckpt']}", f"out={out}", f"paths.root={tmp_path}"]
        )
        ref = f"artifact={out}"
    clean = drift(digits, ref, digits["clean_png"])
    assert clean["exit_code"] == 0 and clean["drifted_features"] == [] and clean["rows"] == 540
    shifted = drift(digits, ref, digits["shifted_png"])
    assert shifted["exit_code"] == 3 and shifted["dataset_drift"] and shifted["prediction_drift"]
    from_array = drift(digits, ref, digits["shifted"])  # the same images as a .npz array
    assert shifted["drifted_features"] == from_array["drifted_features"]
    for name, feature in shifted["features"].items():
        assert feature["statistic"] == pytest.approx(
            from_array["features"][name]["statistic"], rel=0.05, abs=0.01
        )


def test_bad_folders_get_one_sentence(digits, tmp_path):
    ref = f"ckpt_path={digits['ckpt']}"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    wide = tmp_path / "wide"  # 16-bit pixels: scaled to 8 bits, as training decodes them
    wide.mkdir()
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(wide / "0.png")
    np.testing.assert_allclose(read_image_folder(wide, (1, 8, 8), [0.0, 16.0]), 16.0)
    for folder, needle in [
        (empty, "holds no images"),
        (broken, "0.png is not an image Pillow can read"),
    ]:
        with pytest.raises(KilnError, match=needle):
            drift(digits, ref, folder)
    with pytest.raises(KilnError, match="has no pixel range"):  # a profile from before
        read_image_folder(digits["clean_png"], (1, 8, 8), None)
    proc = cli("drift", ref, f"input={empty}", runs=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "holds no images" in proc.stderr


def test_a_folder_for_a_table_model_gets_one_sentence(tmp_path, digits):
    result = train(tmp_path / "runs", "experiment=penguins_species", "trainer.max_epochs=1",
                   "logger=none", "~callbacks.confusion_matrix")  # fmt: skip
    with pytest.raises(KilnError, match="image folders are for image models; pass a .csv"):
        drift(digits, f"ckpt_path={result['best_checkpoint']}", digits["clean_png"])


def test_non_finite_images_are_a_bad_input(digits, tmp_path):
    """An all-NaN batch is no batch of images (it read as 0 rows, every test passing)."""
    ref = f"ckpt_path={digits['ckpt']}"
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((5, 1, 8, 8), np.nan, np.float32))
    proc = cli("drift", ref, f"input={nan}", runs=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert (
        f"kiln drift: error: input {nan} has non-finite values (NaN or inf) in 5 of its 5 images"
        in proc.stderr
    )
    some = np.load(digits["clean"])["x"][:10].copy()
    some[3, 0, 2, 2] = np.inf
    some[7, 0, 0, 0] = np.nan
    partly = tmp_path / "partly.npz"
    np.savez(partly, x=some)
    with pytest.raises(KilnError, match="in 2 of its 10 images; pass finite pixel values"):
        drift(digits, ref, partly)
