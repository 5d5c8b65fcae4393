"""Free text for classification, with a subword tokenizer fitted on the training split.

``kiln train data=text data.path=reviews.csv data.text_column=review data.target_column=stars``
The tokenizer (kiln.preprocessing.text_tokenizer: BPE, WordPiece, Unigram or one token per
character) is trained on the training rows only and saved, as its JSON, in the spec: the
checkpoint and the artifact carry it, and ``kiln predict``, ``kiln serve`` and ``kiln.load``
encode strings with it. A checkpoint's data is rebuilt with ``fitted`` (that JSON), so
``kiln eval`` and ``kiln export`` never refit it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kiln.data.folds import split_rows
from kiln.data.multilabel import multilabel_targets
from kiln.data.sequence import SHIPPED_DATA
from kiln.data.spec import InputSpec
from kiln.data.text_files import read_text_table
from kiln.data.tokens import TokenDataModule
from kiln.errors import KilnError, not_a_file
from kiln.preprocessing.text_tokenizer import TextTokenizer

TOKENIZER_DEFAULTS = {
    "kind": "bpe",  # bpe | wordpiece | unigram | char
    "vocab_size": 2000,
    "min_frequency": 2,
    "lowercase": True,
    "normalization": "nfkc",  # nfkc | nfc | nfd | nfkd | none
}


def resolve_text_path(path: str) -> Path:
    """A file or folder as given, else one of kiln's shipped data/ files by name."""
    p = Path(path).expanduser()
    if p.exists():
        return p
    if not p.is_absolute() and (SHIPPED_DATA / p.name).is_file() and p.parent.name in ("", "data"):
        return SHIPPED_DATA / p.name
    raise KilnError(
        f"data.path={path} {not_a_file(p)}; pass a CSV, TSV or Parquet file, or a folder of "
        "<label>/*.txt files."
    )


class TextDataModule(TokenDataModule):
    """Texts -> (token ids [N, T], lengths [N], label); T is max_len, or the longest training
    text in tokens when that is shorter. ``truncation``: ``right`` keeps a text's start,
    ``left`` its end; texts cut are counted in the data report (``truncated``).
    """

    drop_full_lengths = False

    def __init__(
        self,
        path: str | None = None,
        text_column: str = "text",
        target_column: str = "label",
        tokenizer: dict | None = None,
        max_len: int = 128,
        truncation: str = "right",
        features: str = "tokens",
        fitted: dict | None = None,
        label_separator: str = "|",
        name: str | None = None,
        **kwargs,
    ) -> None:
        if not path:
            raise KilnError("data=text needs data.path; pass a CSV, Parquet file or a folder.")
        unknown = set(tokenizer or {}) - set(TOKENIZER_DEFAULTS)
        if unknown:
            raise KilnError(
                f"data.tokenizer.{sorted(unknown)[0]} is not a tokenizer setting; use "
                f"{', '.join(TOKENIZER_DEFAULTS)}."
            )
        super().__init__(
            source="csv", path=path, text_column=text_column, target_column=target_column,
            max_len=max_len, features=features, name=name, **kwargs,
        )  # fmt: skip
        self.tokenizer_cfg = {**TOKENIZER_DEFAULTS, **dict(tokenizer or {})}
        self.truncation = truncation
        self.fitted = dict(fitted) if fitted else None
        self.label_separator = label_separator
        self.text_report: dict = {}

    def load_strings(self) -> tuple[list[str], np.ndarray]:
        file = resolve_text_path(self.path)
        frame = read_text_table(file, self.text_column, self.target_column)
        self.name = self.name or file.stem
        return frame[self.text_column].astype(str).tolist(), frame[self.target_column].to_numpy()

    def _prepare(self) -> None:
        if self.task != "multilabel":
            return super()._prepare()
        texts, raw_y = self.load_strings()
        names, y = multilabel_targets(
            raw_y, self.label_separator, f"data.target_column={self.target_column!r}"
        )
        self.rows = rows = split_rows(
            y[:, 0], False, self.val_fraction, self.test_fraction, self.split_seed, self.fold
        )
        tokens, lengths, extra = self.encode_texts(texts, rows["train"])
        extra["inputs_per_batch"] = 2
        yt = torch.from_numpy(y).long()  # 0/1; the loss takes them as floats
        self.splits = {k: (tokens[ix], lengths[ix], yt[ix]) for k, ix in rows.items()}
        self.preprocessor = None
        self.spec = InputSpec(
            kind="tokens", shape=(tokens.shape[1],), task="multilabel", num_outputs=len(names),
            dataset=self.name, class_names=names, extra=extra,
        )  # fmt: skip

    def check_classes(self, classes: np.ndarray, y: np.ndarray) -> None:
        counts = np.bincount(y, minlength=len(classes))
        if len(classes) < 2:
            raise KilnError(
                f"data.target_column={self.target_column!r} holds a single label; a classifier needs two."
            )
        if counts.min() < 3:
            rare = classes[int(counts.argmin())]
            raise KilnError(
                f"Label {rare!r} has {int(counts.min())} example(s); the train/val/test split "
                "needs at least 3 of each label: add examples or drop its rows."
            )

    def encode_texts(
        self, texts: list[str], train: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        if self.fitted is not None:  # the checkpoint's own tokenizer: never refitted
            tok = TextTokenizer.from_dict(self.fitted)
        else:
            train_texts = [texts[i] for i in train]
            tok = TextTokenizer.fit(
                train_texts, max_len=int(self.max_len), truncation=self.truncation,
                **self.tokenizer_cfg,
            )  # fmt: skip
            longest = int(tok.token_lengths(train_texts).max())
            tok.max_len = max(1, min(tok.max_len, longest))  # no width no training text needs
        enc = tok.encode(texts)
        self._texts = texts
        self.text_report = {
            "tokenizer": self.tokenizer_cfg["kind"],
            "vocab_size": tok.vocab_size,
            "max_len": tok.max_len,
            "truncated": enc.truncated,
            "unknown_token_rate": enc.unknown_tokens / max(1, int(enc.lengths.sum())),
        }
        extra = {
            "vocab_size": tok.vocab_size,
            "max_len": tok.max_len,
            "text_column": self.text_column,
            "tokenizer": tok.to_dict(),
        }
        return torch.from_numpy(enc.ids), torch.from_numpy(enc.lengths), extra

    @property
    def texts(self) -> dict[str, list[str]]:
        """The raw strings of each split (the TF-IDF baselines of kiln compare read them)."""
        return {k: [self._texts[i] for i in ix] for k, ix in self.rows.items()}

    def extra_report(self) -> dict:
        return {"text": self.text_report}
