"""Strings -> padded token ids with a Hugging Face ``tokenizers`` tokenizer fitted on train.

One class, ``TextTokenizer``, is what training, ``kiln predict``, the server and ``kiln.load``
all call: it is fitted once on the training split (BPE, WordPiece, Unigram, or one token per
character), then travels as its JSON (``to_json`` / ``from_json``) inside the checkpoint's spec
and the artifact's metadata. Id 0 pads and id 1 is the unknown token, as kiln's character
vocabulary always had it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from kiln.errors import KilnError

PAD, UNK = "[PAD]", "[UNK]"
KINDS = ("bpe", "wordpiece", "unigram", "char")
NORMALIZATIONS = ("nfkc", "nfc", "nfd", "nfkd", "none")
SIDES = ("right", "left")
# characters kept of one text before it is tokenized: a token is at least one character and a
# text is cut to max_len tokens, so this bounds the work a 1 MB string costs (per token slot)
CHARS_PER_TOKEN = 64


@dataclass
class Encoded:
    """Padded ids [N, T] int64, lengths [N] int64, and how many texts were cut / had unknowns."""

    ids: np.ndarray
    lengths: np.ndarray
    truncated: int
    unknown_tokens: int


class TextTokenizer:
    """A fitted tokenizer, its maximum length and the side a longer text is cut on."""

    def __init__(self, tokenizer: Tokenizer, max_len: int, truncation: str = "right") -> None:
        if truncation not in SIDES:
            raise KilnError(
                f"data.truncation={truncation!r} is unknown; use right (keep the start) or left "
                "(keep the end)."
            )
        self.tokenizer, self.max_len, self.truncation = tokenizer, int(max_len), truncation
        self.vocab_size = tokenizer.get_vocab_size()

    # -- fitting ------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        texts: list[str],
        kind: str = "bpe",
        vocab_size: int = 2000,
        min_frequency: int = 1,
        lowercase: bool = True,
        normalization: str = "nfkc",
        max_len: int = 128,
        truncation: str = "right",
    ) -> TextTokenizer:
        """Train a tokenizer of ``kind`` on ``texts`` (the training split only)."""
        if kind not in KINDS:
            raise KilnError(
                f"data.tokenizer.kind={kind!r} is unknown; use one of {', '.join(KINDS)}."
            )
        if normalization not in NORMALIZATIONS:
            raise KilnError(
                f"data.tokenizer.normalization={normalization!r} is unknown; use one of "
                f"{', '.join(NORMALIZATIONS)}."
            )
        for key, value, low, eg in (
            ("data.tokenizer.vocab_size", vocab_size, 3, 2000),
            ("data.tokenizer.min_frequency", min_frequency, 0, 2),
            ("data.max_len", max_len, 1, 128),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise KilnError(
                    f"{key}={value!r} must be a whole number of at least {low}; use e.g. {eg}."
                )
        if not isinstance(lowercase, bool):
            raise KilnError(f"data.tokenizer.lowercase={lowercase!r} must be true or false.")
        special = [PAD, UNK]
        if kind == "bpe":
            tok = Tokenizer(models.BPE(unk_token=UNK))
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special,
                show_progress=False,
            )  # fmt: skip
        elif kind == "wordpiece":
            tok = Tokenizer(models.WordPiece(unk_token=UNK))
            trainer = trainers.WordPieceTrainer(
                vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special,
                show_progress=False,
            )  # fmt: skip
            tok.decoder = decoders.WordPiece()
        elif kind == "unigram":
            tok = Tokenizer(models.Unigram())
            trainer = trainers.UnigramTrainer(
                vocab_size=vocab_size, special_tokens=special, unk_token=UNK, show_progress=False
            )
        else:  # one token per character, every character of the training texts
            tok = Tokenizer(models.WordLevel(unk_token=UNK))
            trainer = trainers.WordLevelTrainer(
                vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special,
                show_progress=False,
            )  # fmt: skip
        steps = [] if normalization == "none" else [getattr(normalizers, normalization.upper())()]
        if lowercase:
            steps.append(normalizers.Lowercase())
        if steps:
            tok.normalizer = normalizers.Sequence(steps)
        if kind == "char":
            tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        else:
            tok.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
            )
        tok.train_from_iterator(texts, trainer=trainer)
        if tok.token_to_id(PAD) != 0 or tok.token_to_id(UNK) != 1:  # kiln's convention
            raise RuntimeError("the tokenizer trainer did not put [PAD] at 0 and [UNK] at 1")
        return cls(tok, max_len, truncation)

    # -- (de)serialisation --------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "tokenizer": self.tokenizer.to_str(),
            "max_len": self.max_len,
            "truncation": self.truncation,
        }

    @classmethod
    def from_dict(cls, d: dict) -> TextTokenizer:
        return cls(Tokenizer.from_str(d["tokenizer"]), d["max_len"], d.get("truncation", "right"))

    # -- encoding -----------------------------------------------------------------------
    def encode(self, texts: list[str], steps: int | None = None) -> Encoded:
        """Token ids padded (0) to ``steps`` (default max_len), cut on the configured side."""
        steps = int(steps or self.max_len)
        cap = max(steps * CHARS_PER_TOKEN, 4096)
        cut = [t[:cap] if self.truncation == "right" else t[-cap:] for t in texts]
        # encode_batch_fast: no character offsets (kiln never reads them), ~3x quicker
        encodings = self.tokenizer.encode_batch_fast(cut, add_special_tokens=False)
        ids = np.zeros((len(texts), steps), dtype=np.int64)
        lengths = np.zeros(len(texts), dtype=np.int64)
        truncated = unknown = 0
        for row, enc in enumerate(encodings):
            seq = enc.ids
            if len(seq) > steps or len(cut[row]) < len(texts[row]):
                truncated += 1
                seq = seq[:steps] if self.truncation == "right" else seq[-steps:]
            n = len(seq)
            ids[row, :n] = seq
            lengths[row] = max(n, 1)  # an all-whitespace text reads as one padding step
        unknown = int((ids == 1).sum())
        return Encoded(ids, lengths, truncated, unknown)

    def token_lengths(self, texts: list[str]) -> np.ndarray:
        """Each text's token count before truncation (for choosing the padded width)."""
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return np.array([len(e.ids) for e in encodings], dtype=np.int64)
