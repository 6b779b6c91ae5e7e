"""The cleaning's whitening (first pass in the clean stage, second pass in the index stage)."""

from __future__ import annotations

import numpy as np

from landmark.params import CleanParams
from landmark.retrieval.whitening import Whitening, fit_whitening


def fit_clean_whitening(emb: np.ndarray, params: CleanParams) -> Whitening:
    """PCA-whitening fitted on (N, D) embeddings to at most clean.whiten_dim dimensions and at most
    N / clean.whiten_photos_per_dim. Near 4 photos a dimension the smallest sample eigenvalues are far
    below the true ones, whitening blows those directions up and the graph loses its edges: on 10 real
    landmarks x 50 photos it removed a third of the photos (docs/cleaning.md, research.clean_whitening)."""
    return fit_whitening(emb, params.whiten_dim, samples_per_dim=params.whiten_photos_per_dim)
