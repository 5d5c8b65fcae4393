"""Load an artifact (JSON + ONNX, or JSON + safetensors) and predict from raw records or frames.

``kiln.load(path).predict(df_or_records)`` is the Python API; ``kiln predict`` and the server
use the same object, so all three answer identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kiln.errors import KilnError
from kiln.serving.artifact import ONNX, WEIGHTS, model_bytes, read_metadata
from kiln.serving.schema import InputError, InputSchema  # noqa: F401


class Predictor:
    """Runs an exported pipeline. ``threads`` is onnxruntime's intra-op thread count."""

    def __init__(
        self, directory: str | Path, threads: int = 1, verify: bool = True, trust_targets=None
    ) -> None:
        """``trust_targets``: patterns (``["mypkg.*"]``) or a kiln.config.trust.Trust, the targets a
        format=torch artifact's stored config may build beyond kiln's allow-list."""
        self.directory = Path(directory)
        self.meta = read_metadata(self.directory, verify=verify)
        self.schema = InputSchema.from_dict(self.meta["inputs"])
        self.task: str = self.meta["task"]
        self.labels: list[str] | None = self.meta.get("labels")
        # binary: the label is the second where its probability exceeds the model's threshold
        # (data.threshold; artifacts exported before it existed cut at 0.5)
        self.threshold = float(self.meta.get("threshold") or 0.5)
        self.input_names: list[str] = self.meta["graph"]["inputs"]
        self.dtypes = [np.dtype(t) for t in self.meta["graph"]["dtypes"]]
        # the format metadata.json names (and its file list checks), not whichever file is there;
        # the model is read once, and those bytes are the ones checked against their hash
        fmt = self.meta.get("format")
        if fmt == "onnx" and (self.directory / ONNX).is_file():
            self._run = self._onnx_runner(
                model_bytes(self.directory, self.meta, ONNX, verify), threads
            )
            self.backend = "onnx"
        elif fmt == "torch" and (self.directory / WEIGHTS).is_file():
            from kiln.serving.torch_backend import torch_runner

            weights = model_bytes(self.directory, self.meta, WEIGHTS, verify)
            self._run = torch_runner(self.meta, weights, threads, trust_targets, self.directory)
            self.backend = "torch"
        else:
            raise KilnError(
                f"Artifact {self.directory} lacks the {ONNX} or {WEIGHTS} its format needs; export it again."
            )

    def _onnx_runner(self, model: bytes, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(0, int(threads))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        names = self.input_names

        def run(inputs: list[np.ndarray]) -> np.ndarray:
            return session.run(None, dict(zip(names, inputs, strict=True)))[0]

        return run

    # -- raw arrays ---------------------------------------------------------------------
    def run(self, inputs: list[np.ndarray]) -> np.ndarray:
        """Encoded inputs -> probabilities ([N, C], or [N] for binary) or values ([N])."""
        return self._run(
            [np.ascontiguousarray(a, dtype=t) for a, t in zip(inputs, self.dtypes, strict=True)]
        )

    def encode(self, data):
        """Records (a dict or a list of dicts) or a DataFrame -> (graph inputs, missing values
        per field, unknown categories per field)."""
        if self.meta.get("spec", {}).get("kind") == "tokens":
            raise InputError(
                "this artifact's model reads token sequences (token ids and their lengths), which "
                "kiln predict and kiln serve do not encode from records or files yet; call "
                "kiln.load(<artifact>).run([tokens, lengths]) from Python."
            )
        if self.schema.kind == "image" and not _records(data):
            return self.schema.encode_sources(data)
        if isinstance(data, pd.DataFrame):
            return self.schema.encode_frame(data)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise InputError(
                f"predict takes a DataFrame, a record (dict) or a list of records, not a {type(data).__name__}."
            )
        return self.schema.encode_records(data)

    # -- user-facing --------------------------------------------------------------------
    def predict(self, data) -> pd.DataFrame:
        """One row per input row: ``prediction`` plus ``proba_<label>`` columns for classifiers.
        An image model also takes image paths, PIL images or arrays (one, or a list of them)."""
        inputs, _, _ = self.encode(data)
        index = data.index if isinstance(data, pd.DataFrame) else None
        return self.to_frame(self.run(inputs), index)

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        return np.stack([1 - out, out], axis=1) if self.task == "binary" else out

    def label_index(self, out: np.ndarray) -> np.ndarray:
        """The predicted class of each row: the model's threshold for binary, else the most probable."""
        if self.task == "binary":
            return (np.asarray(out).reshape(-1) > self.threshold).astype(np.int64)
        return np.asarray(out).argmax(1)

    def to_frame(self, out: np.ndarray, index=None) -> pd.DataFrame:
        if self.task == "regression":
            return pd.DataFrame({"prediction": out.astype(np.float64)}, index=index)
        probs = self.probabilities(out)
        cols = {"prediction": np.asarray(self.labels, dtype=object)[self.label_index(out)]}
        for k, label in enumerate(self.labels):
            cols[f"proba_{label}"] = probs[:, k].astype(np.float64)
        return pd.DataFrame(cols, index=index)

    def to_records(self, out: np.ndarray) -> list[dict]:
        """JSON-ready answers: {"prediction": label, "probabilities": {label: p}} or {"prediction": v}."""
        if self.task == "regression":
            return [{"prediction": v} for v in out.astype(np.float64).tolist()]
        probs = self.probabilities(out).astype(np.float64)
        labels = self.labels
        return [
            {"prediction": labels[int(k)], "probabilities": dict(zip(labels, row, strict=True))}
            for k, row in zip(self.label_index(out), probs.tolist(), strict=True)
        ]

    def predict_records(self, data) -> list[dict]:
        inputs, _, _ = self.encode(data)
        return self.to_records(self.run(inputs))

    @property
    def output_columns(self) -> list[str]:
        if self.task == "regression":
            return ["prediction"]
        return ["prediction", *(f"proba_{label}" for label in self.labels)]


def _records(data) -> bool:
    """Whether ``data`` is a frame or JSON records, rather than images (paths, PIL, arrays)."""
    if isinstance(data, (pd.DataFrame, dict)):
        return True
    return isinstance(data, list) and bool(data) and all(isinstance(d, dict) for d in data)


def load(artifact: str | Path, threads: int = 1, trust_targets=None) -> Predictor:
    """A predictor for an artifact directory written by ``kiln export``."""
    return Predictor(artifact, threads=threads, trust_targets=trust_targets)
