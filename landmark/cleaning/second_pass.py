"""The second cleaning pass, with the trained network (the paper cleans with its own landmark CNN).

The first pass (pipeline.py) works in frozen ImageNet features. After training on what it kept, the
trained network separates the landmarks far better, but it has seen the remaining noise under the
wrong labels; frozen features have not. So the evidence that a photo belongs to another landmark
(cross_evidence.py) is averaged over both spaces: the whitened frozen features and the trained
embeddings. A photo is removed when the mean evidence exceeds `margin` (0: the other landmark's
photos are, on average over both views, closer than its own landmark's), unless the two landmarks
are look-alikes (clean.twin_share, as in the first pass). A landmark is never emptied:
when every one of its photos would go, they all stay (with a warning), as in the first pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from landmark.cleaning.cross_evidence import evidence_and_rival, mutual_confusion

log = logging.getLogger(__name__)


def second_pass_evidence(
    spaces: Sequence[np.ndarray], labels: np.ndarray, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """(evidence (N,) float32: neighbour evidence averaged over embedding spaces, each (N, D_i)
    L2-normalised; rival (N,) object: the other landmark of the space where the evidence is highest)."""
    if not spaces:
        raise ValueError("second_pass_evidence needs at least one embedding space")
    labels = np.asarray(labels).astype(str)
    each = [evidence_and_rival(space, labels, k) for space in spaces]
    evidence = np.stack([e for e, _ in each])
    rivals = np.stack([r for _, r in each])
    rival = rivals[evidence.argmax(axis=0), np.arange(labels.size)]
    return evidence.mean(axis=0).astype(np.float32), rival


def second_pass_keep(spaces: Sequence[np.ndarray], labels: np.ndarray, k: int = 10, margin: float = 0.0,
                     twin_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(keep (N,) bool, evidence (N,) float32): keep photos whose mean evidence is <= margin, and those
    of look-alike landmark pairs (cross_evidence.mutual_confusion at `twin_share`); a landmark whose
    photos would all go keeps them all."""
    labels = np.asarray(labels).astype(str)
    evidence, rival = second_pass_evidence(spaces, labels, k)
    flagged = evidence > margin
    keep = ~flagged | mutual_confusion(labels, flagged, rival, twin_share)
    for name in np.unique(labels[~keep]):
        mine = labels == name
        if not keep[mine].any():
            log.warning("second pass would remove every photo of %s: all %d kept", name, int(mine.sum()))
            keep[mine] = True
    return keep, evidence
