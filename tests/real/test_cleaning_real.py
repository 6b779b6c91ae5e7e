"""Cleaning quality on real tourist photos with injected noise of known truth, against the baseline.

Noise (seeded): one landmark leaves the set and 5% of the set's size of its photos are filed under the
other landmarks (distractors), and 20% of the remaining photos are moved to a wrong landmark.
The baseline drops the photos least similar to their landmark's mean embedding, with the same removal
count, in the raw ImageNet space and in the same whitened space the graph uses.

Measured (lite0 ImageNet, 128 px, GeM, params.yaml clean section): the per-landmark graph alone gave
P 0.86-0.89, R 0.67-0.71 (seeds 0-2); with the cross-landmark neighbour evidence (cross_evidence.py)
P 0.843 / 0.872, R 0.861 / 0.867 (seeds 0 / 1); whitened baseline at the same count P 0.81 / 0.83;
raw baseline P 0.53 / 0.54. With frozen ImageNet features the issue's target (R >= 0.85 at
P >= 0.90) is reached in recall, not in precision; the second pass with the trained network
(docs/cleaning.md) reaches both.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from landmark.cleaning.pipeline import clean_landmark_photos
from landmark.cleaning.scoring import baseline_remove, inject_noise, removal_scores
from landmark.cleaning.whitening import fit_clean_whitening
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed
from landmark.params import load_params

log = logging.getLogger(__name__)
pytestmark = pytest.mark.real


@pytest.fixture(scope="session")
def real_embeddings(real_landmarks_dir: Path, repo_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(1500, 1280) pooled ImageNet features and labels; cached by content under artifacts/cache."""
    torch.set_num_threads(2)
    params = load_params(repo_dir / "params.yaml")
    manifest = pd.read_csv(real_landmarks_dir / "manifest.csv", dtype=str)
    model = create_embedder(dataclasses.replace(params.backbone, embed_dim=0, image_size=128))
    emb = embed(
        model,
        [real_landmarks_dir / p for p in manifest["path"]],
        preprocessing="timm",
        batch_size=32,
        workers=1,
        cache_dir=repo_dir / "artifacts" / "cache" / "embeddings",
    )
    return emb, manifest["landmark"].to_numpy()


@pytest.mark.parametrize("seed", [0, 1])
def test_graph_cleaning_against_baseline(
    real_embeddings: tuple[np.ndarray, np.ndarray], repo_dir: Path, seed: int
) -> None:
    emb_all, labels = real_embeddings
    params = load_params(repo_dir / "params.yaml").clean
    noisy = inject_noise(
        labels, wrong_fraction=0.2, distractor_landmarks=1, distractor_fraction=0.05, seed=seed
    )
    emb = emb_all[noisy.rows]
    result = clean_landmark_photos(emb, noisy.filed, params)
    graph = removal_scores(~result.keep, noisy.is_noise)
    n = graph["removed"]
    raw = removal_scores(baseline_remove(emb, noisy.filed, n), noisy.is_noise)
    white = removal_scores(
        baseline_remove(fit_clean_whitening(emb, params).apply(emb), noisy.filed, n), noisy.is_noise
    )
    log.warning("seed %d graph %s | baseline raw %s | baseline whitened %s", seed, graph, raw, white)
    assert graph["precision"] >= 0.82 and graph["recall"] >= 0.83
    assert graph["f1"] >= raw["f1"] + 0.25  # far better than the baseline in the raw space
    assert graph["f1"] >= white["f1"] + 0.01  # better than the baseline in the same space
    assert not result.landmarks["dropped"].any()
