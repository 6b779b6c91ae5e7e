"""Leave-one-landmark-out calibration: the threshold must also reject the database's own landmarks when
they are not in the index (`index.left_out_landmarks`).

The photos a threshold calibrated on non-landmarks lets through are mostly unseen landmarks of the same
kind as a known one (docs/real_results_hardest.md), and a few non-landmark photos set that threshold
anywhere from 0.05 to 0.28 on the folds. For each of up to `left_out_landmarks` known landmarks L
(seeded choice), the index built without L scores L's database photos: photos of a landmark the index
does not hold. The stored threshold is the higher of the non-landmark one and the one at the same FPR
on these scores. On the folds (research.loo_calibration, docs/real_results_loo_calibration.md) that
halved what passes at the threshold: the folds' unknown landmarks 19.6% -> 9.1%, other real everyday
photos 10.5% -> 3.6%, unseen monuments 20.2% -> 7.0%, for 0.772 -> 0.718 of the known queries answered.
The network has trained on L, so these scores understate an unseen landmark's: the guard is a floor.

Off by default (0): where the database holds look-alike landmarks, a left-out landmark's photos match
its look-alike, as they should, and the floor rises to that match. On make run's sample world (27
landmarks, several generated look-alike pairs) it raised the threshold from 0.094 to 0.672 and cut the
known queries answered at the threshold from 0.63 to 0.15 (FPR at the threshold 0.043 -> 0). Turn it
on for a database of mutually distinct landmarks; it costs one index build per left-out landmark (17 s
for 27 landmarks and 407 photos on 2 cores).
"""

from __future__ import annotations

import logging

import numpy as np
from tqdm.auto import tqdm

from landmark.params import IndexParams
from landmark.retrieval.build import build_index, top1
from landmark.retrieval.threshold import Threshold, threshold_for_fpr

log = logging.getLogger(__name__)


def left_out_answers(database: np.ndarray, labels: np.ndarray, params: IndexParams, landmarks: int = 0,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each left-out landmark's photos (landmarks in name order), against the index built from the
    other landmarks (params, as the recognizer's): (M,) acceptance scores, (M,) the landmark answered
    (object) and (M,) their database rows; `landmarks` of them (seeded; 0 = all). A database of fewer
    than two landmarks gives none."""
    labels = np.asarray(labels, dtype=object)
    names = sorted(set(labels.tolist()))
    if len(names) < 2:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    if 0 < landmarks < len(names):
        names = sorted(np.random.default_rng(seed).choice(names, size=landmarks, replace=False).tolist())
    scores, answers, rows = [], [], []
    for name in tqdm(names, desc="leave landmarks out", unit="landmark", leave=False):
        mine = labels == name
        found, score = top1(build_index(database[~mine], labels[~mine], params, "centroids"), database[mine])
        scores.append(score)
        answers.append(found)
        rows.append(np.flatnonzero(mine))
    return (np.concatenate(scores).astype(np.float32), np.concatenate(answers),
            np.concatenate(rows).astype(np.int64))


def left_out_scores(database: np.ndarray, labels: np.ndarray, params: IndexParams, landmarks: int = 0,
                    seed: int = 0) -> np.ndarray:
    """(M,) the acceptance scores of left_out_answers."""
    return left_out_answers(database, labels, params, landmarks, seed)[0]


def with_left_out_floor(threshold: Threshold, left_out: np.ndarray, source: str = "left-out landmarks"
                        ) -> Threshold:
    """`threshold` (calibrated on non-landmarks) raised, at every FPR, to the threshold for that FPR on
    the must-reject scores `left_out` (the left-out landmarks', or the unseen calibration landmarks',
    named by `source` in the log) when that is higher; n_calibration stays the non-landmark count."""
    if left_out.size == 0:
        return threshold
    floor = threshold_for_fpr(left_out, threshold.target_fpr)
    log.info("%s: %d photos, threshold %.4f (before: %.4f)", source, left_out.size, floor, threshold.value)
    by_fpr = {k: max(v, threshold_for_fpr(left_out, float(k))) for k, v in threshold.by_fpr.items()}
    return Threshold(max(threshold.value, floor), threshold.target_fpr, by_fpr, threshold.n_calibration)
