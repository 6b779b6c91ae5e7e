"""The similarity threshold: chosen on non-landmark calibration photos for a target false positive rate.

A photo is recognised when the similarity of its nearest centroid is >= the threshold. On the
calibration non-landmarks, the threshold for a target FPR f is just above the (floor(f * n) + 1)-th
highest score, so at most floor(f * n) of them pass (ties at the cut are all rejected).
Confidence maps similarity monotonically into [0, 1] with the threshold at exactly 0.5.

n calibration photos only bound the false positive rate loosely: with 104 of them one may pass at FPR
1%, and the true rate on photos like them is then below 4.5% with 95% confidence (Clopper-Pearson),
not below 1% (docs/real_results_wider_rejects.md: on folds calibrated so, up to 19% of real everyday
photos from another source passed). `Threshold.fpr_upper_95` says how loose it is; calibrate warns when it is
more than twice the target and names how many photos would bring it within that.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
LOOSE = 2.0  # calibrate warns when the 95% upper bound on the FPR is above LOOSE x the target


def threshold_for_fpr(negative_scores: np.ndarray, fpr: float) -> float:
    """negative_scores: (n,) top-1 similarities of photos that must be rejected.
    Returns the lowest threshold t (among the scores' neighbours) with mean(scores >= t) <= fpr."""
    scores = np.sort(np.asarray(negative_scores, dtype=np.float64).ravel())[::-1]
    if scores.size == 0:
        raise ValueError("threshold calibration needs at least one non-landmark score")
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    allowed = allowed_passes(scores.size, fpr)
    if allowed >= scores.size:
        return float(scores[-1])
    return float(np.nextafter(scores[allowed], np.inf))


def false_positive_rate(negative_scores: np.ndarray, threshold: float) -> float:
    """Share of (n,) negative scores at or above the threshold."""
    scores = np.asarray(negative_scores, dtype=np.float64)
    return float(np.mean(scores >= threshold)) if scores.size else 0.0


def _log_binomial_cdf(k: int, n: int, p: float) -> float:
    """log P(X <= k) for X ~ Binomial(n, p), 0 < p < 1 (summed in log space: n may be large)."""
    lp, lq = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
             for i in range(k + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def fpr_upper_bound(n: int, passed: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on the true false positive rate when `passed` of `n`
    calibration photos are at or above the threshold: the rate p with P(X <= passed | n, p) = 1 - level."""
    if not 0 <= passed <= n:
        raise ValueError(f"passed must be in 0..n, got {passed} of {n}")
    if n == 0 or passed == n:
        return 1.0
    low, high, target = passed / n, 1.0, math.log(1.0 - level)
    for _ in range(60):  # bisection: the CDF falls as p grows
        mid = (low + high) / 2
        if mid > 0 and _log_binomial_cdf(passed, n, mid) > target:
            low = mid
        else:
            high = mid
    return high


def allowed_passes(n: int, fpr: float) -> int:
    """How many of n calibration photos threshold_for_fpr lets pass at `fpr`."""
    return min(n, int(math.floor(fpr * n + 1e-9)))


def photos_for_bound(fpr: float, ratio: float = LOOSE, level: float = 0.95) -> int:
    """The fewest calibration photos whose fpr_upper_bound at `fpr` is within ratio x fpr (a power of two
    times 100 is close enough for a message)."""
    n = 100
    while n < 10_000_000 and fpr_upper_bound(n, allowed_passes(n, fpr), level) > ratio * fpr:
        n *= 2
    return n


@dataclass(frozen=True)
class Threshold:
    """The calibrated threshold, with the thresholds of every reported FPR."""

    value: float
    target_fpr: float
    by_fpr: dict[str, float] = field(default_factory=dict)  # "0.01" -> threshold
    n_calibration: int = 0

    @property
    def fpr_upper_95(self) -> float:
        """95% upper bound on the false positive rate at `value`, from n_calibration photos alone (1.0
        when none are recorded): photos unlike the calibration set's can still do worse."""
        return fpr_upper_bound(self.n_calibration, allowed_passes(self.n_calibration, self.target_fpr))

    def confidence(self, similarity: np.ndarray) -> np.ndarray:
        """(N,) cosine similarities -> (N,) confidence in [0, 1], monotone, 0.5 at the threshold."""
        s = np.clip(np.asarray(similarity, dtype=np.float64), -1.0, 1.0)
        s = np.where(np.isfinite(s), s, -1.0)
        t = float(np.clip(self.value, -1.0 + 1e-6, 1.0 - 1e-6))
        below = 0.5 * (s + 1.0) / (t + 1.0)
        above = 0.5 + 0.5 * (s - t) / (1.0 - t)
        return np.clip(np.where(s >= t, above, below), 0.0, 1.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "target_fpr": self.target_fpr,
            "by_fpr": dict(self.by_fpr),
            "n_calibration": self.n_calibration,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> Threshold:
        return cls(
            float(raw["value"]),
            float(raw["target_fpr"]),
            {str(k): float(v) for k, v in raw.get("by_fpr", {}).items()},
            int(raw.get("n_calibration", 0)),
        )


def calibrate(negative_scores: np.ndarray, target_fpr: float, fprs: Iterable[float] = ()) -> Threshold:
    """Threshold for target_fpr on (n,) calibration non-landmark scores, plus one per reported FPR."""
    by_fpr = {f"{f:g}": threshold_for_fpr(negative_scores, f) for f in (*fprs, target_fpr)}
    threshold = Threshold(
        threshold_for_fpr(negative_scores, target_fpr),
        float(target_fpr),
        by_fpr,
        int(np.asarray(negative_scores).size),
    )
    if threshold.fpr_upper_95 > LOOSE * target_fpr:
        log.warning("calibration: %d non-landmark photos set the threshold for FPR %g, but only bound the "
                    "false positive rate below %.3g (95%%); about %d photos, from many sources and like the "
                    "photos users send, would bound it below %g", threshold.n_calibration, target_fpr,
                    threshold.fpr_upper_95, photos_for_bound(target_fpr), LOOSE * target_fpr)
    return threshold


def read_embedding_threshold(meta: dict[str, object], index_dir: Path) -> float:
    """index.json's threshold on the embedding similarity alone (`threshold` itself for an index that does
    not verify). An index saved with verification before this was recorded cannot serve embeddings."""
    if "embedding_threshold" in meta:
        return float(meta["embedding_threshold"])  # type: ignore[arg-type]  # JSON number
    if meta.get("verification") is not None:
        raise ValueError(f"{index_dir}/index.json: a verifying index without `embedding_threshold` (saved before it "
                         "was recorded); rebuild it with `dvc repro index`")
    return float(meta.get("threshold", float("inf")))  # type: ignore[arg-type]  # JSON number
