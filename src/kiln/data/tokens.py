"""Token sequences for classification: DNA strings (the motif task) or free text, per character."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from kiln.data.base import infer_task
from kiln.data.folds import split_rows
from kiln.data.motif import motif_dataset
from kiln.data.sequence import SequenceDataModule, resolve_data_path
from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.preprocessing.char_vocab import CharVocabulary
from kiln.preprocessing.scale import Standardize
from kiln.preprocessing.tokens import TokenCounts


class TokenDataModule(SequenceDataModule):
    """Strings -> (tokens int64 [N, T] padded with 0, lengths int64 [N], label); when every
    sequence fills T, batches are (tokens, label).

    source: ``motif`` (the seeded DNA generator of kiln.data.motif) or ``csv`` (``path``,
    ``text_column``, ``target_column``). The vocabulary is ``alphabet`` when given (ACGT for
    DNA), else every character of the training split; id 0 pads, id 1 is an unseen character.
    features: ``tokens`` for sequence models, or ``counts`` (token frequencies, standardised
    on train, order thrown away) for table models such as the MLP.
    """

    def __init__(
        self,
        source: str = "motif",
        path: str | None = None,
        text_column: str = "text",
        target_column: str = "label",
        alphabet: str | None = None,
        max_len: int | None = None,
        features: str = "tokens",
        motif: dict | None = None,
        name: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if source not in ("motif", "csv"):
            raise KilnError(f"data.source={source!r} is unknown; use motif or csv.")
        if features not in ("tokens", "counts"):
            raise KilnError(f"data.features={features!r} is unknown; use tokens or counts.")
        if source == "csv" and not path:
            raise KilnError("data.source=csv needs data.path; pass the path of a CSV file.")
        self.source, self.path, self.alphabet = source, path, alphabet
        self.text_column, self.target_column = text_column, target_column
        self.max_len, self.features = max_len, features
        self.motif = dict(motif or {})
        self.name = name or ("dna_motif" if source == "motif" else None)

    def load_strings(self) -> tuple[list[str], np.ndarray]:
        if self.source == "motif":
            return motif_dataset(**{"seed": self.split_seed, **self.motif})
        file = resolve_data_path(self.path)
        frame = pd.read_csv(file, keep_default_na=False)
        for col in (self.text_column, self.target_column):
            if col not in frame.columns:
                raise KilnError(
                    f"Column {col!r} is not in {file.name}; set data.text_column / data.target_column "
                    f"to one of {', '.join(map(str, frame.columns))}."
                )
        self.name = self.name or file.stem
        return frame[self.text_column].astype(str).tolist(), frame[self.target_column].to_numpy()

    drop_full_lengths = True  # text keeps its lengths: a served text can be shorter

    def check_classes(self, classes: np.ndarray, y: np.ndarray) -> None:
        """Refuse what a stratified split cannot take (subclasses add their own checks)."""

    def encode_texts(
        self, texts: list[str], train: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """Per-character ids (vocabulary from the training rows), lengths, and the spec's facts;
        the artifact encodes served strings with the same CharVocabulary."""
        vocab = self.alphabet or "".join(sorted({c for i in train for c in texts[i]}))
        steps = self.max_len or max(len(texts[i]) for i in train)
        enc = CharVocabulary(vocab, steps).encode(texts)
        extra = {
            "vocab_size": len(vocab) + 2, "vocab": vocab, "max_len": steps,
            "text_column": self.text_column,
        }  # fmt: skip
        return torch.from_numpy(enc.ids), torch.from_numpy(enc.lengths), extra

    def _prepare(self) -> None:
        texts, raw_y = self.load_strings()
        if self.task != "auto":
            task = self.task
        elif raw_y.dtype.kind in "iufb":
            task = infer_task(raw_y)
        else:  # class names such as spam / ham
            task = "binary" if len(np.unique(raw_y)) == 2 else "multiclass"
        if task not in ("binary", "multiclass") and self.task == "auto":
            raise KilnError(
                f"data.target_column={self.target_column!r} holds {len(np.unique(raw_y))} distinct "
                "numbers, which reads as regression; token data is classified: give class labels."
            )
        if task not in ("binary", "multiclass"):
            raise KilnError(
                f"Token data is classified; data.task={task} is not supported, use auto."
            )
        classes, y = np.unique(raw_y, return_inverse=True)
        self.check_classes(classes, y)
        self.rows = rows = split_rows(
            y, True, self.val_fraction, self.test_fraction, self.split_seed, self.fold
        )
        tokens, lengths, extra = self.encode_texts(texts, rows["train"])
        steps = tokens.shape[1]
        yt = torch.as_tensor(y, dtype=torch.long)
        # all sequences full length: no lengths, so attention runs unmasked (flash kernels)
        fixed = (
            self.features == "tokens" and self.drop_full_lengths and bool((lengths == steps).all())
        )
        self.splits = {
            k: (tokens[ix], yt[ix]) if fixed else (tokens[ix], lengths[ix], yt[ix])
            for k, ix in rows.items()
        }
        extra["inputs_per_batch"] = 1 if fixed else 2
        vocab_size = extra["vocab_size"]
        if self.features == "counts":
            counts = TokenCounts(vocab_size)
            self.preprocessor = nn.Sequential(
                counts, Standardize.fit(counts(self.splits["train"][:2]))
            )
            kind, shape = "tabular", (vocab_size - 1,)
        else:
            self.preprocessor = None
            kind, shape = "tokens", (steps,)
        self.spec = InputSpec(
            kind=kind,
            shape=shape,
            task=task,
            num_outputs=len(classes) if task == "multiclass" else 1,
            dataset=self.name,
            class_names=[str(c) for c in classes],
            extra=extra,
        )
