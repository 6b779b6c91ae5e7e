"""How sure a per-fold difference in sensitivity at a fixed FPR is: a paired, stratified bootstrap.

At FPR 0.1% a fold's threshold is the score of its hardest one or two must-reject photos
(docs/real_results_hardest.md), so one photo more or less moves sensitivity by several points. The
known queries and the must-reject photos are resampled with replacement, each group to its own size (so
every resample allows the same number of false accepts), the same resample for both systems, and each
system's threshold is set again on the resampled must-reject photos
(landmark.evaluation.metrics.sensitivity_at_fpr's rule). The percentile interval of the differences is
what the fold can tell apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landmark.evaluation.metrics import QueryResults
from landmark.retrieval.threshold import threshold_for_fpr


@dataclass(frozen=True)
class PairedSensitivity:
    """delta = sensitivity(a) - sensitivity(b) at `fpr` on the collection; [low, high] its `level`
    percentile interval over `samples` resamples."""

    delta: float
    low: float
    high: float
    level: float
    samples: int


def _sensitivity(correct: np.ndarray, known: np.ndarray, rejects: np.ndarray, fpr: float) -> float:
    return float((correct & (known >= threshold_for_fpr(rejects, fpr))).mean())


def paired_sensitivity(a: QueryResults, b: QueryResults, fpr: float, samples: int = 1000, level: float = 0.95,
                       seed: int = 0) -> PairedSensitivity:
    """a, b: two systems' answers to the same queries (same truth, same order). Non-finite scores count as
    -1 (no candidate), as in sensitivity_at_fpr."""
    if not np.array_equal(a.positive, b.positive):
        raise ValueError("a and b must answer the same queries")
    if not 0.0 < level < 1.0 or samples < 1:
        raise ValueError(f"need 0 < level < 1 and samples >= 1, got {level}, {samples}")
    pos = a.positive
    if pos.all() or not pos.any():
        raise ValueError("the collection needs known queries and must-reject photos")
    parts = []
    for system in (a, b):
        score = np.where(np.isfinite(system.similarity), system.similarity, -1.0).astype(np.float64)
        parts.append((system.correct[pos], score[pos], score[~pos]))
    (ca, ka, ra), (cb, kb, rb) = parts
    delta = _sensitivity(ca, ka, ra, fpr) - _sensitivity(cb, kb, rb, fpr)
    rng = np.random.default_rng(seed)
    n_known, n_reject = len(ka), len(ra)
    diffs = np.empty(samples)
    for s in range(samples):
        k, r = rng.integers(0, n_known, n_known), rng.integers(0, n_reject, n_reject)
        diffs[s] = _sensitivity(ca[k], ka[k], ra[r], fpr) - _sensitivity(cb[k], kb[k], rb[r], fpr)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return PairedSensitivity(float(delta), float(low), float(high), level, samples)
