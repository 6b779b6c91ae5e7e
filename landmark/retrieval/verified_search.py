"""Verified answers: the top candidate landmarks of each query (by centroid similarity), each verified
against its reference photos nearest the query's embedding (landmark.retrieval.verification),
scored with the capped inlier count, and optionally re-ranked by that score. The recognizer, the
index stage's calibration and the research folds all score through `verify_candidates`, so the
threshold is calibrated on the score the recognizer answers with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landmark.params import VerificationParams
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.reference_features import ReferenceFeatures
from landmark.retrieval.verification import LocalFeatures, best_inliers, verified_score

SEARCH_CENTROIDS = 64  # centroids searched to find the top distinct landmarks
Candidates = list[tuple[str, float]]  # (landmark, cosine similarity), best first, distinct landmarks


@dataclass(frozen=True)
class Verified:
    """Per query: landmark (the answer candidate, None when the index is empty), score (the verified
    acceptance score in [-1, 1]), similarity (that candidate's cosine), inliers (its inlier count),
    verifications (pairs of photos matched)."""

    landmark: np.ndarray
    score: np.ndarray
    similarity: np.ndarray
    inliers: np.ndarray
    verifications: np.ndarray


def top_candidates(sims: np.ndarray, labels: np.ndarray, top: int) -> list[Candidates]:
    """(Q, k) similarities and labels of a centroid search (best first) -> per query the first `top`
    distinct landmarks with their best similarity (missing results, label None, skipped)."""
    out: list[Candidates] = []
    for row_s, row_l in zip(sims, labels, strict=True):
        seen: Candidates = []
        for s, lab in zip(row_s, row_l, strict=True):
            if lab is not None and np.isfinite(s) and all(lab != n for n, _ in seen):
                seen.append((str(lab), float(s)))
                if len(seen) == top:
                    break
        out.append(seen)
    return out


def search_candidates(index: CentroidIndex, embeddings: np.ndarray, top: int) -> list[Candidates]:
    """(Q, D) L2-normalised embeddings -> the top distinct landmarks of each."""
    if len(embeddings) == 0 or index.index.ntotal == 0:
        return [[] for _ in range(len(embeddings))]
    sims, labels = index.search(np.asarray(embeddings, dtype=np.float32), k=min(index.index.ntotal, SEARCH_CENTROIDS))
    return top_candidates(sims, labels, top)


def verify_candidates(
    candidates: Sequence[Candidates],
    queries: Sequence[LocalFeatures | None],
    embeddings: np.ndarray,
    references: ReferenceFeatures,
    params: VerificationParams,
) -> Verified:
    """Each query's candidates verified against their params.verify_per_landmark references nearest
    the query's (Q, D) embedding. A query without features (None) or a landmark without references
    gets 0 inliers. With params.rerank the candidate with the
    highest verified score answers, else the most similar one (ties: the more similar)."""
    if not len(candidates) == len(queries) == len(embeddings):
        raise ValueError(f"{len(candidates)} candidate lists, {len(queries)} query features, "
                         f"{len(embeddings)} embeddings")
    n = len(candidates)
    landmark = np.full(n, None, dtype=object)
    score, similarity = np.full(n, -1.0), np.full(n, -1.0)
    count, pairs = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for q, (cands, feats) in enumerate(zip(candidates, queries, strict=True)):
        if not cands:
            continue
        counts = []
        for name, _ in cands:
            refs = references.nearest(name, embeddings[q], params.verify_per_landmark) if feats is not None else []
            counts.append(best_inliers(feats, refs, params) if feats is not None else 0)
            pairs[q] += len(refs)
        scores = verified_score(np.array([s for _, s in cands]), np.array(counts), params)
        best = int(np.argmax(scores)) if params.rerank else 0  # argmax: first of ties = the more similar
        landmark[q], score[q] = cands[best][0], float(scores[best])
        similarity[q], count[q] = cands[best][1], counts[best]
    return Verified(landmark, score, similarity, count, pairs)
