"""index.dba_k: build_index replaces each database photo by its DBA within its landmark first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from landmark.params import load_params
from landmark.retrieval.build import build_index
from landmark.retrieval.expansion import database_augmentation

REPO = Path(__file__).resolve().parents[2]


def test_build_index_applies_dba_within_each_landmark() -> None:
    rng = np.random.default_rng(0)
    db = rng.normal(size=(12, 8)).astype(np.float32)
    db /= np.linalg.norm(db, axis=1, keepdims=True)
    labels = np.array(["a"] * 6 + ["b"] * 6, dtype=object)
    off = dataclasses.replace(load_params(REPO / "params.yaml").index, whiten_dim=0, dba_k=0)
    on = dataclasses.replace(off, dba_k=2, dba_alpha=1.0)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    expected = build_index(database_augmentation(db, 2, 1.0, labels), labels, off, "photos").search(queries, k=3)
    got = build_index(db, labels, on, "photos").search(queries, k=3)
    plain = build_index(db, labels, off, "photos").search(queries, k=3)
    np.testing.assert_allclose(got[0], expected[0], atol=1e-6)
    np.testing.assert_array_equal(got[1], expected[1])
    assert not np.allclose(got[0], plain[0])  # DBA moved the database vectors
