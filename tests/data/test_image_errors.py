"""The bad-input corpus of data=images: each mistake is one sentence naming the file and the
fix (exit 2 from the CLI, no traceback), and the user's files are left as they were."""

import hashlib

import pandas as pd
import pytest

from kiln.data.images.folder import ImageFolderDataModule
from kiln.errors import KilnError
from tests.helpers import cli
from tests.helpers.images import bomb_png, two_classes


def setup(path, **kw):
    ImageFolderDataModule(path=str(path), size=[8, 8], split_seed=0, **kw).setup("fit")


def fingerprint(root) -> dict:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def corpus(root):
    """{case: (data.path, overrides, what the sentence must say)}."""
    cases = {}

    def folder(name):
        return two_classes(root / name, per_class=6)

    bad = folder("corrupt")
    good = (bad / "dark" / "000.png").read_bytes()
    (bad / "dark" / "cut.png").write_bytes(good[: len(good) // 2])
    cases["corrupt"] = (bad, {}, f"image {bad}/dark/cut.png is corrupt or truncated")
    text = folder("text")
    (text / "bright" / "notes.txt").write_text("not an image")
    cases["non_image"] = (
        text,
        {},
        f"{text}/bright/notes.txt in class folder bright is not an image file",
    )
    fake = folder("fake")
    (fake / "bright" / "fake.png").write_text("not an image either")
    cases["fake_png"] = (fake, {}, "fake.png is not an image Pillow can read")
    empty = folder("empty")
    (empty / "birds").mkdir()
    cases["empty_class"] = (empty, {}, f"class folder {empty}/birds holds no images")
    one = folder("one")
    for f in (one / "bright").iterdir():
        f.unlink()
    (one / "bright").rmdir()
    cases["one_class"] = (one, {}, "has one class folder (dark); a classifier needs at least two")
    big = folder("big")
    (big / "dark" / "huge.png").write_bytes(bomb_png(9000))
    cases["over_max_pixels"] = (
        big,
        {},
        "huge.png is 9000x9000 = 81,000,000 pixels, over the limit",
    )
    small = folder("small")
    cases["over_a_set_limit"] = (
        small,
        {"max_pixels": 100},
        "pixels, over the limit of 100; shrink it or raise data.max_pixels",
    )
    listed = folder("listed")
    pd.DataFrame({"path": ["dark/000.png", "dark/gone.png"], "label": ["a", "b"]}).to_csv(
        listed / "l.csv", index=False
    )
    cases["csv_missing_file"] = (
        listed / "l.csv",
        {},
        "row 3 of l.csv names dark/gone.png, which does not exist",
    )
    holes = folder("holes")
    pd.DataFrame({"path": ["dark/000.png", "dark/001.png"], "label": ["a", None]}).to_csv(
        holes / "h.csv", index=False
    )
    cases["label_missing"] = (
        holes / "h.csv",
        {},
        "column 'label' of h.csv is empty in 1 row(s), the first at line 3",
    )
    cases["no_path"] = (root / "nowhere", {}, f"data.path={root}/nowhere does not exist")
    return cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return corpus(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", ["corrupt", "non_image", "fake_png", "empty_class", "one_class",
                                  "over_max_pixels", "over_a_set_limit", "csv_missing_file",
                                  "label_missing", "no_path"])  # fmt: skip
def test_bad_input_is_one_sentence_and_nothing_changes(cases, case):
    path, overrides, needle = cases[case]
    root = path if path.is_dir() else path.parent
    before = fingerprint(root) if root.exists() else {}
    with pytest.raises(KilnError) as err:
        setup(path, **overrides)
    message = str(err.value)
    assert needle in message and "\n" not in message and message.endswith(".")
    assert (fingerprint(root) if root.exists() else {}) == before


def test_skip_leaves_bad_images_out_but_not_bad_layouts(cases):
    path, _, _ = cases["corrupt"]
    setup(path, on_bad_image="skip")  # the cut file is left out, the rest trains
    big, _, _ = cases["over_max_pixels"]
    setup(big, on_bad_image="skip")
    with pytest.raises(KilnError, match="not an image file"):
        setup(cases["non_image"][0], on_bad_image="skip")


def test_split_folder_mistakes(tmp_path):
    two_classes(tmp_path / "train", per_class=5)
    two_classes(tmp_path / "val", per_class=2)
    (tmp_path / "val" / "bright").rename(tmp_path / "val" / "birds")
    with pytest.raises(KilnError, match=r"val/birds is a class that .*train lacks"):
        setup(tmp_path)
    only = tmp_path / "only_val"
    two_classes(only / "val", per_class=3)
    with pytest.raises(KilnError, match="has val/ but no train/ folder"):
        setup(only)
    few = two_classes(tmp_path / "few", per_class=2)
    with pytest.raises(KilnError, match="class 'bright' has only 2 training image"):
        setup(few)


def test_the_cli_says_it_in_one_line(cases, tmp_path):
    path, _, needle = cases["corrupt"]
    proc = cli(
        "train", "data=images", f"data.path={path}", "data.size=8", "logger=none", runs=tmp_path
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("kiln train: error: ") and needle in line
    assert "pass data.on_bad_image=skip to leave bad files out" in line
