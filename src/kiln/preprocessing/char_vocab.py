"""A character vocabulary (data=text_csv, data=dna_motif): one id per character seen in the
training split (or the configured alphabet); id 0 pads, id 1 is a character never seen.

Training (kiln.data.tokens) and the artifact (kiln.serving.text_inputs) encode with this one
class, so a served string becomes exactly the ids training made of it.
"""

from __future__ import annotations

import numpy as np

from kiln.preprocessing.text_tokenizer import Encoded, TextTokenizer

PAD, UNKNOWN = 0, 1
KIND = "characters"  # the "kind" of its dict, beside a subword tokenizer's JSON


class CharVocabulary:
    """``vocab``: the characters in id order (ids 2, 3, ...); ``max_len``: the padded width;
    a longer text keeps its first ``max_len`` characters, as training did."""

    truncation = "right"

    def __init__(self, vocab: str, max_len: int) -> None:
        self.vocab, self.max_len = vocab, int(max_len)
        self.vocab_size = len(vocab) + 2
        self._lookup = {c: i + 2 for i, c in enumerate(vocab)}

    def to_dict(self) -> dict:
        return {"kind": KIND, "vocab": self.vocab, "max_len": self.max_len}

    @classmethod
    def from_dict(cls, d: dict) -> CharVocabulary:
        return cls(d["vocab"], d["max_len"])

    def encode(self, texts: list[str], steps: int | None = None) -> Encoded:
        """Ids padded (0) to ``steps`` (default max_len), lengths (at least 1: an empty text
        reads as one padding step), texts cut and unseen characters counted."""
        steps = int(steps or self.max_len)
        ids = np.zeros((len(texts), steps), dtype=np.int64)
        lengths = np.zeros(len(texts), dtype=np.int64)
        truncated = 0
        for row, text in enumerate(texts):
            if len(text) > steps:
                truncated += 1
            seq = [self._lookup.get(c, UNKNOWN) for c in text[:steps]]
            ids[row, : len(seq)] = seq
            lengths[row] = max(len(seq), 1)
        return Encoded(ids, lengths, truncated, int((ids == UNKNOWN).sum()))


def tokenizer_dict(extra: dict) -> dict:
    """A token spec's tokenizer as stored: data=text's subword JSON, else its characters."""
    if "tokenizer" in extra:
        return extra["tokenizer"]
    return CharVocabulary(extra["vocab"], extra["max_len"]).to_dict()


def load_tokenizer(d: dict) -> TextTokenizer | CharVocabulary:
    """The encoder a stored tokenizer dict describes (both have encode, max_len, vocab_size)."""
    return CharVocabulary.from_dict(d) if d.get("kind") == KIND else TextTokenizer.from_dict(d)
