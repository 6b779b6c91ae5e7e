"""Geometric verification measured on the real-photo folds (research.folds --verification).

The centroid recognizer of research.evaluate_real (same embeddings, same index), with its top
candidates verified through the product's code (landmark.retrieval.verified_search): references
chosen from the database, the threshold calibrated on the calibration photos with the verified
score, the collection scored with it. Local features are extracted once per photo and kept in a
dict across folds (the same photo is a reference in one fold and a query in another).

`inlier_table` records every (query, candidate, reference) inlier count once so that
`sweep` can score many (top_landmarks, verify_per_landmark, min_inliers, cap, weight, rerank)
settings without matching again.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landmark.data.images import load_rgb
from landmark.evaluation.collection import truth_array
from landmark.evaluation.metrics import QueryResults, summarize
from landmark.params import Params, VerificationParams
from landmark.retrieval.build import build_index
from landmark.retrieval.reference_features import ReferenceFeatures, assemble, choose_references
from landmark.retrieval.threshold import calibrate
from landmark.retrieval.verification import LocalFeatures, extract, inliers, verified_score
from landmark.retrieval.verified_search import Verified, search_candidates, verify_candidates

Cache = dict[tuple[str, str], LocalFeatures]
THREADS = 2  # OpenCV releases the GIL: photos are extracted and matched in this many threads
TIMED = 200  # collection photos timed end to end (extraction + matching, one thread) for ms_per_query


def features_of(paths: list[str], params: VerificationParams, cache: Cache) -> tuple[list[LocalFeatures], float]:
    """Local features of photos (absolute paths), cached by (settings, path); returns them and the
    seconds spent extracting the ones not cached."""
    key = f"{params.features}/{params.max_features}/{params.upscale}"
    todo = sorted({p for p in paths if (key, p) not in cache})
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        for path, feats in zip(todo, pool.map(lambda p: extract(load_rgb(p), params), todo), strict=True):
            cache[(key, path)] = feats
    return [cache[(key, p)] for p in paths], time.perf_counter() - start


def references_of(emb: np.ndarray, database: pd.DataFrame, params: VerificationParams,
                  cache: Cache) -> ReferenceFeatures:
    """The database's reference features (the index stage's choice, reference_features.choose_references)."""
    labels = database["landmark"].to_numpy(dtype=object)
    chosen = choose_references(emb, labels, params.photos_per_landmark)
    feats, _ = features_of(database["path"].iloc[chosen].tolist(), params, cache)
    return assemble(chosen, feats, emb, labels, database["image_id"].astype(str).tolist(), params.features)


def evaluate_verification(emb: dict[str, np.ndarray], sets: dict[str, pd.DataFrame], params: Params,
                          vparams: VerificationParams, cache: Cache) -> dict[str, float]:
    """Metrics of the centroid recognizer with verification (threshold at params.index.target_fpr on
    the calibration photos' verified scores), plus ms_per_query (extraction + matching of the first
    TIMED collection photos in one thread, extraction timed afresh), verified_share (share of
    collection photos with at least one verification) and pairs_per_query."""
    labels = sets["database"]["landmark"].to_numpy(dtype=object)
    index = build_index(emb["database"], labels, params.index, "centroids")
    refs = references_of(emb["database"], sets["database"], vparams, cache)
    top = vparams.top_landmarks
    cal_feats, _ = features_of(sets["calibration"]["path"].tolist(), vparams, cache)
    cal = verify_candidates(search_candidates(index, emb["calibration"], top), cal_feats, emb["calibration"], refs,
                            vparams)
    threshold = calibrate(cal.score, params.index.target_fpr, params.index.fprs).value
    paths = sets["collection"]["path"].tolist()
    cands = search_candidates(index, emb["collection"], top)
    start = time.perf_counter()  # what a new photo costs: extraction and matching, one thread
    timed = [extract(load_rgb(p), vparams) for p in paths[:TIMED]]
    verify_candidates(cands[:TIMED], timed, emb["collection"][:TIMED], refs, vparams)
    seconds = time.perf_counter() - start
    feats, _ = features_of(paths, vparams, cache)
    parts = np.array_split(np.arange(len(paths)), THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        pieces = list(pool.map(lambda idx: verify_candidates([cands[i] for i in idx], [feats[i] for i in idx],
                                                             emb["collection"][idx], refs, vparams), parts))
    got = Verified(*(np.concatenate([getattr(p, f.name) for p in pieces]) for f in dataclasses.fields(Verified)))
    truth = truth_array(sets["collection"])
    metrics = summarize(QueryResults(truth, got.landmark, got.score, got.score), threshold, params.index.fprs)
    roles = sets["collection"]["role"].to_numpy()
    for role in ("non_landmark", "unknown"):
        metrics[f"fpr_{role}"] = float((got.score >= threshold)[roles == role].mean())
    metrics["ms_per_query"] = 1000.0 * seconds / max(1, min(TIMED, len(paths)))
    metrics["verified_share"] = float((got.verifications > 0).mean()) if len(paths) else 0.0
    metrics["pairs_per_query"] = float(got.verifications.mean()) if len(paths) else 0.0
    return metrics


def inlier_table(index_candidates: list[list[tuple[str, float]]], feats: list[LocalFeatures], emb: np.ndarray,
                 refs: ReferenceFeatures, vparams: VerificationParams) -> np.ndarray:
    """(Q, T, P) inlier counts of each query's T candidates against their P references nearest the
    query, nearest first (-1: no such candidate or reference); T = vparams.top_landmarks,
    P = vparams.verify_per_landmark."""
    t, p = vparams.top_landmarks, vparams.verify_per_landmark
    out = np.full((len(feats), t, p), -1, dtype=np.int64)

    def fill(q: int) -> None:
        for j, (name, _) in enumerate(index_candidates[q][:t]):
            for r, ref in enumerate(refs.nearest(name, emb[q], p)):
                out[q, j, r] = inliers(feats[q], ref, vparams)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(fill, range(len(feats))))
    return out


def scored(cands: list[list[tuple[str, float]]], table: np.ndarray, vparams: VerificationParams,
           top: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    """(answer (Q,) object, verified score (Q,)) from an inlier table, using its first `top`
    candidates and `per` references (the same rule as verified_search.verify_candidates)."""
    n = len(cands)
    answer, score = np.full(n, None, dtype=object), np.full(n, -1.0)
    for q, c in enumerate(cands):
        c = c[:top]
        if not c:
            continue
        counts = np.maximum(table[q, : len(c), :per].max(axis=1), 0)
        s = verified_score(np.array([x for _, x in c]), counts, vparams)
        best = int(np.argmax(s)) if vparams.rerank else 0
        answer[q], score[q] = c[best][0], float(s[best])
    return answer, score


GRID: dict[str, tuple[Any, ...]] = {
    "top_landmarks": (1, 3), "verify_per_landmark": (1, 3), "min_inliers": (8, 10, 12, 16),
    "cap": (20, 40), "weight": (0.25, 0.5, 1.0), "rerank": (False, True)}


def sweep(emb: dict[str, np.ndarray], sets: dict[str, pd.DataFrame], params: Params,
          vparams: VerificationParams, cache: Cache) -> pd.DataFrame:
    """Metrics of every GRID setting on one fold (one row each); matching is done once, at the
    grid's largest top_landmarks and photos_per_landmark."""
    wide = dataclasses.replace(vparams, top_landmarks=max(GRID["top_landmarks"]),
                               verify_per_landmark=max(GRID["verify_per_landmark"]))
    labels = sets["database"]["landmark"].to_numpy(dtype=object)
    index = build_index(emb["database"], labels, params.index, "centroids")
    refs = references_of(emb["database"], sets["database"], wide, cache)
    tables = {}
    for name in ("calibration", "collection"):
        cands = search_candidates(index, emb[name], wide.top_landmarks)
        feats, _ = features_of(sets[name]["path"].tolist(), wide, cache)
        tables[name] = (cands, inlier_table(cands, feats, emb[name], refs, wide))
    truth = truth_array(sets["collection"])
    rows = []
    for values in product(*GRID.values()):
        setting = dict(zip(GRID, values, strict=True))
        vp = dataclasses.replace(vparams, **setting)
        _, cal = scored(*tables["calibration"], vp, vp.top_landmarks, vp.verify_per_landmark)
        threshold = calibrate(cal, params.index.target_fpr, params.index.fprs).value
        answer, score = scored(*tables["collection"], vp, vp.top_landmarks, vp.verify_per_landmark)
        m = summarize(QueryResults(truth, answer, score, score), threshold, params.index.fprs)
        rows.append({**setting, **{k: m[k] for k in ("gap", "sensitivity_at_fpr_1pct",
                                                      "sensitivity_at_fpr_0_1pct", "accuracy_at_1")}})
    return pd.DataFrame(rows)


def write_sweep(frames: list[pd.DataFrame], out: Path) -> pd.DataFrame:
    """Mean over folds of every setting, best sensitivity at FPR 1% first; written as CSV."""
    joined = pd.concat(frames, ignore_index=True)
    mean = joined.groupby(["model", *GRID], as_index=False).mean(numeric_only=True)
    mean = mean.drop(columns=[c for c in ("fold",) if c in mean]).sort_values("sensitivity_at_fpr_1pct",
                                                                              ascending=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    mean.to_csv(out, index=False)
    return mean
