"""The cleaning's whitening: at most clean.whiten_photos_per_dim photos a kept dimension, and why."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from landmark.cleaning.pipeline import clean_landmark_photos
from landmark.cleaning.whitening import fit_clean_whitening
from landmark.params import CleanParams, ParamsError, load_params, parse_params


def _clusters(landmarks: int, per: int, dim: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well-separated landmarks sharing one large common component (as frozen ImageNet features do)."""
    rng = np.random.default_rng(seed)
    common, centres = rng.normal(size=dim) * 3, rng.normal(size=(landmarks, dim))
    emb = np.concatenate([common + centres[i] + rng.normal(size=(per, dim)) for i in range(landmarks)])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb.astype(np.float32), np.repeat([f"l{i}" for i in range(landmarks)], per)


@pytest.fixture(scope="module")
def clean(repo_dir) -> CleanParams:
    return load_params(repo_dir / "params.yaml").clean


@pytest.mark.parametrize(("photos", "per_dim", "dims"), [(100, 8, 12), (100, 4, 25), (2000, 8, 128), (5, 8, 1)])
def test_dimensions_are_capped_by_photos_per_dimension(clean: CleanParams, photos: int, per_dim: int,
                                                       dims: int) -> None:
    emb, _ = _clusters(10, photos // 10 or 1)
    emb = emb[:photos]
    params = dataclasses.replace(clean, whiten_dim=128, whiten_photos_per_dim=per_dim)
    assert fit_clean_whitening(emb, params).dims == dims


def test_well_separated_landmarks_survive_near_four_photos_a_dimension(clean: CleanParams) -> None:
    # 500 photos, whiten_dim 128: 4 photos a dimension keeps 125 dimensions, and the whitened noise
    # directions cut every graph edge (all 500 photos removed); the default keeps 62 and every photo
    emb, labels = _clusters(10, 50)
    default = clean_landmark_photos(emb, labels, dataclasses.replace(clean, whiten_dim=128))
    assert default.metrics["whiten_dim"] == 500 // clean.whiten_photos_per_dim
    assert default.keep.mean() >= 0.95
    four = clean_landmark_photos(emb, labels, dataclasses.replace(clean, whiten_dim=128, whiten_photos_per_dim=4))
    assert four.metrics["whiten_dim"] == 125 and four.keep.mean() < 0.5


def test_bad_photos_per_dimension_is_named(repo_dir) -> None:
    raw = yaml.safe_load((repo_dir / "params.yaml").read_text())
    raw["clean"]["whiten_photos_per_dim"] = 0
    with pytest.raises(ParamsError, match="clean.whiten_photos_per_dim must be >= 1"):
        parse_params(raw)
