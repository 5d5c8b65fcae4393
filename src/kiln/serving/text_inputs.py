"""Inputs of a text model: strings -> (token ids [N, T], lengths [N]) with the artifact's own
tokenizer, the one fitted on the training split (kiln.preprocessing.text_tokenizer for
data=text, the character vocabulary of kiln.preprocessing.char_vocab for data=text_csv and
data=dna_motif), so a served text is cut and encoded exactly as training did it.

Records are ``{"<text column>": "..."}`` objects (or bare strings from Python); frames need
the text column. A text longer than the model's width is cut on the configured side and
counted (``truncated``); an empty, missing or non-string text is refused, naming the record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kiln.data.text_files import check_texts
from kiln.errors import KilnError
from kiln.preprocessing.char_vocab import CharVocabulary, load_tokenizer, tokenizer_dict
from kiln.preprocessing.text_tokenizer import TextTokenizer
from kiln.serving.records import InputError, check_record_fields


class TextInputs:
    kind = "text"

    def __init__(self, field: str, tokenizer: dict, graph_inputs: int = 2) -> None:
        """``graph_inputs``: 2 (ids, lengths), or 1 (ids) for a character model trained on
        sequences that all filled its width."""
        self.field = field
        self.tokenizer_dict = tokenizer
        self.tokenizer: TextTokenizer | CharVocabulary = load_tokenizer(tokenizer)
        self.graph_inputs = int(graph_inputs)
        self.names = [field]
        self.features = [{"name": field, "type": "text", "max_len": self.tokenizer.max_len}]
        self._index = {field: 0}
        self.truncated = 0  # texts cut to the model's width since this object was made

    @classmethod
    def for_spec(cls, extra: dict, field: str | None = None) -> TextInputs:
        """A data=text spec (its tokenizer), or a character one (its ``vocab``);
        ``field``: the text column where the spec predates ``text_column``."""
        field = extra.get("text_column") or field or "text"
        graph_inputs = 2 if "tokenizer" in extra else int(extra.get("inputs_per_batch", 2))
        return cls(field, tokenizer_dict(extra), graph_inputs)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "field": self.field,
            "tokenizer": self.tokenizer_dict,
            "graph_inputs": self.graph_inputs,
            "features": self.features,
        }

    def example(self) -> dict:
        return {self.field: "an example text"}

    def json_schema(self) -> dict:
        return {
            "type": "object",
            "properties": {self.field: {"type": "string", "minLength": 1}},
            "required": self.names,
            "additionalProperties": False,
        }

    def frame_columns(self) -> list[str]:
        return self.names

    def encode_records(self, records: list):
        """Records (or bare strings) -> graph inputs, missing (none) and unknown tokens."""
        n = len(records)
        texts = []
        for i, rec in enumerate(records):
            if isinstance(rec, str):
                rec = {self.field: rec}
            where = check_record_fields(rec, i, n, self.names, self._index)
            v = rec[self.field]
            if not isinstance(v, str):
                kind = "null" if v is None else type(v).__name__
                raise InputError(f"{where}: field {self.field!r} is {kind}; send a string of text.")
            if not v.strip():
                raise InputError(f"{where}: field {self.field!r} is empty; send some text.")
            texts.append(v)
        return self._encode(texts)

    def encode_frame(self, df: pd.DataFrame):
        if self.field not in df.columns:
            raise InputError(
                f"column {self.field!r} is missing from the input; the model reads its text from it."
            )
        try:
            check_texts(
                df[self.field].reset_index(drop=True), f"column {self.field!r}", "send text there"
            )
        except KilnError as err:
            raise InputError(str(err)) from None
        return self._encode(df[self.field].astype(str).tolist())

    def _encode(self, texts: list[str]):
        enc = self.tokenizer.encode(texts)
        if self.graph_inputs == 1 and (enc.lengths < enc.ids.shape[1]).any():
            row, width = int(np.argmax(enc.lengths < enc.ids.shape[1])), enc.ids.shape[1]
            raise InputError(
                f"record {row}: the text has {int(enc.lengths[row])} characters but this model "
                f"reads exactly {width} (every training sequence filled its width); send at least "
                f"{width}."
            )
        self.truncated += enc.truncated
        missing = np.zeros(1, dtype=np.int64)
        unknown = np.array([enc.unknown_tokens], dtype=np.int64)
        inputs = [enc.ids, enc.lengths][: self.graph_inputs]
        return inputs, missing, unknown
