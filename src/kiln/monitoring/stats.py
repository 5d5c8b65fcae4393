"""The drift statistics: scipy's where it is fast enough, kiln's own where it must be.

KS, chi-square (on the 2 x k contingency table) and Jensen-Shannon are scipy's. Wasserstein-1 is computed here from two sorted
samples in linear time (scipy's argsorts and bisects 1,000,000 values again per feature,
about 5x slower); tests hold it equal to ``scipy.stats.wasserstein_distance`` to 1e-9. PSI has no
scipy function; it equals KL(p||q) + KL(q||p), which the tests check with ``scipy.stats.entropy``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

PSI_EPS = 1e-4  # bin shares below this are clipped: an empty bin would make PSI infinite


def wasserstein_sorted(ref: np.ndarray, new: np.ndarray) -> float:
    """W1 = integral of |F_new - F_ref| between two sorted 1-D samples (equal weights).

    O(len(new) + len(ref) log len(new)) after sorting: the integral is summed over the gaps
    between consecutive ``new`` values with F_ref taken at each gap's start, then corrected
    on the pieces that start at a reference value lying strictly inside a gap (or outside
    the range of ``new``), where F_ref steps up, plus the piece after the last new value.
    """
    n, m = len(new), len(ref)
    if n == 0 or m == 0:
        return float("nan")
    a = np.asarray(new, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    below = np.searchsorted(a, b, side="left")  # how many new values lie below each b
    # F_ref at each new value a_i: how many b are <= a_i (below[j] < i+1 means b_j <= a_i)
    cb = np.cumsum(np.bincount(below, minlength=n + 1))[:n] / m
    fa = np.arange(1, n + 1) / n
    total = float(np.abs(fa[:-1] - cb[:-1]) @ np.diff(a))
    k = np.searchsorted(b, a[-1], side="right")  # from the last new value to the next b
    if k < m:
        total += (1.0 - cb[-1]) * (b[k] - a[-1])
    # corrections at reference values strictly inside a gap (not tied with a new value)
    inside = np.searchsorted(a, b, side="right") == below
    if not inside.any():
        return total
    j = np.flatnonzero(inside)
    i = below[j]  # gap index: new values a_0..a_{i-1} lie below b_j
    f_new = i / n
    f_ref = np.searchsorted(b, b[j], side="right") / m
    nxt_b = np.append(b[1:], b[-1])[j]
    nxt_a = np.where(i < n, a[np.minimum(i, n - 1)], np.inf)
    end = np.minimum(nxt_b, nxt_a)
    naive = np.where((i > 0) & (i < n), np.abs(f_new - cb[np.maximum(i - 1, 0)]), 0.0)
    if np.any(j == m - 1):  # after the last reference value F_ref is 1: its piece runs to a's next
        end = np.where(j == m - 1, nxt_a, end)
    end = np.where(np.isfinite(end), end, b[j])
    return total + float(np.sum((np.abs(f_new - f_ref) - naive) * (end - b[j])))


def wasserstein(reference: np.ndarray, new: np.ndarray) -> float:
    """W1 between two samples in any order (sorted here)."""
    return wasserstein_sorted(np.sort(reference), np.sort(new))


def ks_pvalue(reference: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov: (statistic, p-value), scipy's ks_2samp."""
    res = stats.ks_2samp(reference, new)
    return float(res.statistic), float(res.pvalue)


def bin_shares(counts: np.ndarray) -> np.ndarray:
    p = np.clip(
        np.asarray(counts, dtype=np.float64) / max(1.0, float(np.sum(counts))), PSI_EPS, None
    )
    return p / p.sum()


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin; bins are (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    idx = np.searchsorted(edges, values, side="left")
    return np.bincount(idx, minlength=len(edges) + 1)


def psi(reference_counts: np.ndarray, new_counts: np.ndarray) -> float:
    """Population stability index over the same bins: sum (p - q) ln(p / q)."""
    p, q = bin_shares(new_counts), bin_shares(reference_counts)
    return float(np.sum((p - q) * np.log(p / q)))


def align_counts(
    reference: dict[str, int], new: dict[str, int]
) -> tuple[list, np.ndarray, np.ndarray]:
    """The union of categories (reference order first) and both count vectors over it."""
    cats = list(reference) + sorted(c for c in new if c not in reference)
    ref = np.array([reference.get(c, 0) for c in cats], dtype=np.float64)
    cur = np.array([new.get(c, 0) for c in cats], dtype=np.float64)
    return cats, ref, cur


def chi_square(reference: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    """Chi-square test that both count vectors come from one distribution (scipy's
    chi2_contingency on the 2 x k table). A goodness-of-fit test (``chisquare``) against the
    reference shares would treat those shares as exact; they are a sample too, and with
    references of a few hundred rows that test alarms on most fresh samples."""
    keep = (reference + new) > 0
    table = np.vstack([reference[keep], new[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0
    res = stats.chi2_contingency(table)
    return float(res.statistic), float(res.pvalue)


def js_distance(reference: np.ndarray, new: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2 (0 = same, 1 = disjoint), scipy's jensenshannon."""
    return float(jensenshannon(reference, new, base=2))
