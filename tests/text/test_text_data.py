"""data=text: the tokenizer is fitted on the training split only, round-trips through its JSON,
cuts long texts on the configured side, and bad files are refused in one sentence naming the row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kiln.data import TextDataModule
from kiln.errors import KilnError
from kiln.preprocessing.text_tokenizer import TextTokenizer
from tests.helpers import cli
from tests.text.conftest import make_texts


@pytest.mark.parametrize("kind", ["bpe", "wordpiece", "unigram", "char"])
def test_tokenizer_is_fitted_on_the_training_split_only(tmp_path, kind):
    """Each row holds a character of its own: those of validation and test rows are unknown."""
    frame = make_texts(90, 1)
    frame["text"] = [f"{chr(0x4E00 + i)} {t}" for i, t in enumerate(frame["text"])]
    frame.to_csv(tmp_path / "t.csv", index=False)
    dm = TextDataModule(
        path=str(tmp_path / "t.csv"), split_seed=0, max_len=40,
        tokenizer={"kind": kind, "vocab_size": 200, "min_frequency": 1},
    )  # fmt: skip
    dm.setup("fit")
    tok = TextTokenizer.from_dict(dm.spec.extra["tokenizer"])
    vocab = tok.tokenizer.get_vocab()
    ids, lengths, _ = dm.splits["train"]
    seen = set()
    for split, (ids, lengths, _) in dm.splits.items():
        for row, n in zip(ids.tolist(), lengths.tolist(), strict=True):
            seen.update(row[:n])
            if split == "train":
                assert 1 not in row[:n]  # nothing of a training text is unknown
            else:
                assert 1 in row[:n]  # its own character was never seen in training
    own = {chr(0x4E00 + i) for i in range(90)}
    in_vocab = {c for c in own if c in vocab}
    assert len(in_vocab) <= len(dm.splits["train"][0])  # at most the training rows' characters
    assert dm.report()["text"]["unknown_token_rate"] > 0


def test_tokenizer_json_round_trip_and_truncation_sides(tmp_path):
    texts = make_texts(60, 2)["text"].tolist()
    for side in ("right", "left"):
        tok = TextTokenizer.fit(texts, kind="bpe", vocab_size=80, max_len=4, truncation=side)
        back = TextTokenizer.from_dict(tok.to_dict())
        long = "pizza bread cheese soup apple dinner"
        full = back.tokenizer.encode(long).ids
        enc = back.encode([long, "pizza"])
        assert enc.truncated == 1 and enc.lengths.tolist() == [
            4,
            len(back.tokenizer.encode("pizza").ids),
        ]
        assert enc.ids[0].tolist() == (full[:4] if side == "right" else full[-4:])
        np.testing.assert_array_equal(enc.ids, tok.encode([long, "pizza"]).ids)
    with pytest.raises(KilnError, match="truncation='middle' is unknown"):
        TextTokenizer.fit(texts, truncation="middle")
    with pytest.raises(KilnError, match="kind='sentencepiece' is unknown"):
        TextTokenizer.fit(texts, kind="sentencepiece")


def test_a_megabyte_text_is_cut_and_counted(tmp_path):
    frame = make_texts(60, 3)
    frame.loc[0, "text"] = "pizza " * 200_000  # 1.2 MB
    frame.to_csv(tmp_path / "t.csv", index=False)
    dm = TextDataModule(path=str(tmp_path / "t.csv"), split_seed=0, max_len=8)
    dm.setup("fit")
    assert dm.report()["text"]["truncated"] >= 1 and dm.spec.extra["max_len"] == 8


def test_a_folder_of_txt_files_per_class(tmp_path):
    frame = make_texts(45, 4)
    for i, (text, label) in enumerate(frame.itertuples(index=False)):
        (tmp_path / label).mkdir(exist_ok=True)
        (tmp_path / label / f"{i}.txt").write_text(text, encoding="utf-8")
    dm = TextDataModule(path=str(tmp_path), split_seed=0)
    dm.setup("fit")
    assert dm.spec.class_names == ["food", "sport", "tech"] and dm.spec.dataset == tmp_path.name
    (tmp_path / "food" / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(KilnError, match=r"bad.txt holds bytes that are not UTF-8 \(0xe9"):
        TextDataModule(path=str(tmp_path), split_seed=0).setup("fit")


def bad_files(tmp_path):
    good = make_texts(60, 5)
    cases = {}
    f = good.copy()
    f.loc[7, "text"] = ""
    cases["empty"] = (f, r"row 7 has no text \(empty or missing; 1 such rows\)")
    f = good.copy()
    f.loc[9, "text"] = None
    cases["missing"] = (f, "row 9 has no text")
    f = good.copy()
    f["text"] = np.arange(len(f)) * 0.5
    cases["numeric"] = (f, r"holds numbers \(such as 0.0\), not text; set data.text_column")
    f = good.copy()
    f.loc[3, "label"] = "lonely"
    cases["single"] = (f, r"Label 'lonely' has 1 example\(s\).*add examples or drop its rows")
    f = good.copy()
    f.loc[4, "label"] = None
    cases["no label"] = (f, "row 4 has no label in column 'label'")
    paths = {}
    for name, (frame, words) in cases.items():
        p = tmp_path / f"{name.replace(' ', '_')}.csv"
        frame.to_csv(p, index=False)
        paths[name] = (p, words)
    raw = good.to_csv(index=False).encode().replace(b"\n", b"\n", 1)
    lines = raw.split(b"\n")
    lines[6] = lines[6].replace(b" ", b" \xff", 1)  # line 7 of the file: data row 5
    p = tmp_path / "latin.csv"
    p.write_bytes(b"\n".join(lines))
    paths["not utf-8"] = (p, r"row 5 \(line 7\) holds bytes that are not UTF-8 \(0xff")
    return paths


def test_bad_training_files_are_one_sentence(tmp_path):
    for name, (path, words) in bad_files(tmp_path).items():
        with pytest.raises(KilnError, match=words):
            TextDataModule(path=str(path), split_seed=0).setup("fit")
        assert path.stat().st_size > 0, name


def test_the_cli_says_it_in_one_line_with_exit_2(tmp_path):
    path, words = bad_files(tmp_path)["not utf-8"]
    before = path.read_bytes()
    proc = cli("train", "data=text", f"data.path={path}", runs=tmp_path / "runs")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "row 5 (line 7) holds bytes that are not UTF-8" in lines[0]
    assert "Traceback" not in proc.stderr and path.read_bytes() == before


def test_emoji_and_right_to_left_text_train(tmp_path):
    frame = make_texts(60, 6)
    frame["text"] = [
        t + (" 🍕🎉" if lab == "food" else " שלום עולם" if lab == "sport" else " مرحبا")
        for t, lab in zip(frame["text"], frame["label"], strict=True)
    ]
    frame.to_csv(tmp_path / "t.csv", index=False)
    for kind in ("bpe", "char"):
        dm = TextDataModule(path=str(tmp_path / "t.csv"), split_seed=0, tokenizer={"kind": kind})
        dm.setup("fit")
        tok = TextTokenizer.from_dict(dm.spec.extra["tokenizer"])
        ids = tok.encode(["🍕 שלום مرحبا"]).ids[0]
        assert (ids[ids > 0] != 1).all(), kind  # every script seen in training is known
        pd.testing.assert_series_equal(pd.read_csv(tmp_path / "t.csv")["text"], frame["text"])


def test_bad_tokenizer_settings_are_one_sentence(tmp_path):
    make_texts(30, 8).to_csv(tmp_path / "t.csv", index=False)
    cases = [
        ({"tokenizer": {"vocab_size": "many"}}, r"vocab_size='many' must be a whole number"),
        ({"tokenizer": {"vocab_size": 2}}, "vocab_size=2 must be a whole number of at least 3"),
        ({"tokenizer": {"lowercase": "yes"}}, "lowercase='yes' must be true or false"),
        ({"tokenizer": {"normalization": "nfx"}}, "normalization='nfx' is unknown"),
        ({"tokenizer": {"size": 10}}, r"data.tokenizer.size is not a tokenizer setting"),
        ({"max_len": 0}, "data.max_len=0 must be a whole number of at least 1"),
        ({"truncation": "middle"}, "truncation='middle' is unknown"),
    ]
    for kwargs, words in cases:
        with pytest.raises(KilnError, match=words):
            TextDataModule(path=str(tmp_path / "t.csv"), **kwargs).setup("fit")
