"""data=images on real files: every layout (class folders, train/val/test folders, CSV and
Parquet of path,label, numeric labels as regression), mixed modes and sizes, the channels it
picks, the cache (memory and memory-mapped give the same pixels), skipped files in the report,
and batches that are uint8 slices of the cache."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from kiln.data.images import decode_image
from kiln.data.images.folder import ImageFolderDataModule
from tests.helpers.images import pattern, two_classes, write_modes


def setup(path, **kw) -> ImageFolderDataModule:
    dm = ImageFolderDataModule(path=str(path), size=kw.pop("size", [8, 8]), split_seed=0, **kw)
    dm.setup("fit")
    return dm


def rows_match_files(dm, channels: int, fit: str = "crop") -> None:
    """Each cached row is exactly the decoder's pixels of its file (the oracle)."""
    for split, (x, _) in dm.splits.items():
        assert x.dtype == torch.uint8 and len(x) == len(dm.split_files[split])
        for row, file in zip(x, dm.split_files[split], strict=True):
            np.testing.assert_array_equal(row.numpy(), decode_image(file, (8, 8), channels, fit))


def test_class_folders_of_mixed_modes_and_sizes(tmp_path):
    write_modes(tmp_path / "cats", seed=0)
    write_modes(tmp_path / "dogs", seed=1)
    dm = setup(tmp_path, fit="pad")
    assert dm.spec.kind == "image" and dm.spec.shape == (3, 8, 8) and dm.spec.task == "binary"
    assert dm.spec.class_names == ["cats", "dogs"]
    assert dm.spec.extra["image"] == {"layout": "NHWC", "dtype": "uint8", "size": [8, 8],
                                      "channels": 3, "fit": "pad", "max_pixels": 40_000_000}  # fmt: skip
    assert sum(len(y) for _, y in dm.splits.values()) == 18
    rows_match_files(dm, 3, "pad")
    train = dm.splits["train"][0].numpy().reshape(-1, 3) / 255.0
    np.testing.assert_allclose(dm.preprocessor.mean.numpy(), train.mean(0), rtol=1e-5)
    report = dm.report()["images"]
    assert report["files"] == report["decoded"] == 18 and report["skipped"] == []
    assert report["cache"] == "memory" and report["cache_bytes"] == 18 * 8 * 8 * 3


def test_channels_follow_the_data(tmp_path):
    two_classes(tmp_path, per_class=6, grey=True)
    grey = pattern()[..., 0]
    Image.fromarray(grey).convert("P").save(tmp_path / "dark" / "grey_palette.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "dark" / "grey16.png")
    Image.fromarray(grey).convert("LA").save(tmp_path / "bright" / "grey_alpha.png")
    assert setup(tmp_path).spec.shape == (1, 8, 8)  # all grey (any grey mode): one channel
    Image.fromarray(pattern()).save(tmp_path / "dark" / "colour.png")
    dm = setup(tmp_path)
    assert dm.spec.shape == (3, 8, 8)
    rows_match_files(dm, 3)
    assert setup(tmp_path, channels=1).spec.shape == (1, 8, 8)  # an explicit choice wins


def test_split_folders_are_honoured(tmp_path):
    for split, n in (("train", 8), ("val", 3), ("test", 4)):
        two_classes(tmp_path / split, per_class=n, seed=len(split))
    dm = setup(tmp_path)
    for split, n in (("train", 8), ("val", 3), ("test", 4)):
        assert len(dm.splits[split][1]) == 2 * n
        assert all(f"/{split}/" in f for f in dm.split_files[split])
    (tmp_path / "test").rename(tmp_path / "held_out")  # no test/: carved from train/
    dm = setup(tmp_path)
    assert len(dm.splits["val"][1]) == 6
    assert all("/train/" in f for f in dm.split_files["train"] + dm.split_files["test"])
    assert len(dm.splits["train"][1]) + len(dm.splits["test"][1]) == 16


def test_csv_and_parquet_of_paths(tmp_path):
    two_classes(tmp_path / "img", per_class=6)
    files = sorted((tmp_path / "img").rglob("*.png"))
    table = pd.DataFrame({"file": [str(f.relative_to(tmp_path)) for f in files],
                          "kind": [f.parent.name for f in files]})  # fmt: skip
    table.to_csv(tmp_path / "list.csv", index=False)
    table.to_parquet(tmp_path / "list.parquet")
    for name in ("list.csv", "list.parquet"):
        dm = setup(tmp_path / name, path_column="file", label_column="kind")
        assert dm.spec.class_names == ["bright", "dark"] and dm.spec.dataset == "list"
        rows_match_files(dm, 3)


def test_numeric_labels_are_a_regression(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    brightness = rng.integers(0, 256, 40)
    for i, b in enumerate(brightness):
        Image.new("L", (10, 10), int(b)).save(tmp_path / "img" / f"{i}.png")
    pd.DataFrame({"path": [f"img/{i}.png" for i in range(40)], "label": brightness / 10}).to_csv(
        tmp_path / "bright.csv", index=False
    )
    dm = setup(tmp_path / "bright.csv")
    assert dm.spec.task == "regression" and dm.spec.num_outputs == 1 and dm.spec.shape == (1, 8, 8)
    x, y = dm.splits["train"]
    assert y.dtype == torch.float32
    np.testing.assert_allclose(x.float().mean((1, 2, 3)).numpy() / 10, y.numpy(), atol=1e-5)
    assert dm.target_stats[0] == pytest.approx(float(y.double().mean()))


def test_disk_cache_holds_the_same_pixels(tmp_path):
    two_classes(tmp_path / "data", per_class=6)
    memory = setup(tmp_path / "data", cache="memory")
    disk = setup(
        tmp_path / "data", cache="auto", cache_limit_bytes=100, cache_dir=str(tmp_path / "c")
    )
    assert disk.report()["images"]["cache"].startswith("disk")
    assert list((tmp_path / "c").iterdir()) == []  # the mapped file is unlinked: nothing left
    for split in ("train", "val", "test"):
        assert torch.equal(memory.splits[split][0], disk.splits[split][0])
        assert memory.split_files[split] == disk.split_files[split]


def test_skipped_files_are_listed_and_batches_are_cache_slices(tmp_path):
    two_classes(tmp_path, per_class=8)
    good = (tmp_path / "dark" / "000.png").read_bytes()
    (tmp_path / "dark" / "broken.png").write_bytes(good[: len(good) // 2])
    dm = setup(tmp_path, on_bad_image="skip")
    report = dm.report()["images"]
    assert report["files"] == 17 and report["decoded"] == 16
    assert [s["path"] for s in report["skipped"]] == [str(tmp_path / "dark" / "broken.png")]
    assert "corrupt or truncated" in report["skipped"][0]["reason"]
    assert sum(len(f) for f in dm.split_files.values()) == 16
    rows_match_files(dm, 3)
    x, _ = dm.splits["train"]
    base = dm.splits["train"][0].untyped_storage().data_ptr()
    assert dm.splits["test"][0].untyped_storage().data_ptr() == base  # views of one cache
    batch = next(iter(dm.train_dataloader()))
    assert batch[0].dtype == torch.uint8 and batch[0].shape[1:] == (8, 8, 3)
