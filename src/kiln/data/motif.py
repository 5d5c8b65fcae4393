"""A seeded DNA motif-detection task: the label says whether a motif appears anywhere.

Every sequence gets a planted k-mer: positives the motif itself, negatives a shuffle of it
(never the motif), at a random position. Both classes thus have the same base composition,
so a model that only counts bases stays at chance, and one that reads order can be perfect.
"""

from __future__ import annotations

import numpy as np

BASES = "ACGT"


def motif_dataset(
    n: int = 2000, min_len: int = 30, max_len: int = 60, motif: str = "TATAAT", seed: int = 0
) -> tuple[list[str], np.ndarray]:
    """``n`` DNA strings of random length in [min_len, max_len] and 0/1 labels (half each)."""
    rng = np.random.default_rng(seed)
    k = len(motif)
    decoys = _decoys(motif, rng)
    seqs, labels = [], np.arange(n) % 2
    for label in labels:
        length = int(rng.integers(min_len, max_len + 1))
        while True:
            s = "".join(rng.choice(list(BASES), size=length))
            planted = motif if label else decoys[int(rng.integers(len(decoys)))]
            at = int(rng.integers(0, length - k + 1))
            s = s[:at] + planted + s[at + k :]
            if label or motif not in s:  # a negative never holds the motif, not even by chance
                break
        seqs.append(s)
    order = rng.permutation(n)
    return [seqs[i] for i in order], labels[order]


def _decoys(motif: str, rng: np.random.Generator, count: int = 16) -> list[str]:
    """Shuffles of the motif that differ from it (same letters, other order)."""
    out: set[str] = set()
    letters = list(motif)
    for _ in range(1000):
        cand = "".join(rng.permutation(letters))
        if cand != motif:
            out.add(cand)
        if len(out) >= count:
            break
    if not out:
        raise ValueError(f"motif {motif!r} has no reordering; use one with two different letters")
    return sorted(out)
