"""The faiss centroid index: exact search by hand, approximate types against exact, save/load."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from landmark.retrieval.centroids import l2_normalise
from landmark.retrieval.index import CentroidIndex, IndexConfig, recall_at_1


def _config(**changes: object) -> IndexConfig:
    """A config with every field given (IndexConfig has no defaults), changed as asked."""
    base = {"type": "flat", "hnsw_m": 32, "hnsw_ef_search": 128, "ivf_nlist": 1024, "ivf_nprobe": 32, "pq_m": 64}
    return IndexConfig(**{**base, **changes})  # type: ignore[arg-type]


def test_flat_search_by_hand(tmp_path: Path) -> None:
    vectors = np.eye(3, dtype=np.float32)
    idx = CentroidIndex.build(vectors, np.array(["a", "b", "c"], dtype=object))
    q = l2_normalise(np.array([[0.8, 0.6, 0.0]]))
    sims, labels = idx.search(q, k=2)
    np.testing.assert_allclose(sims, [[0.8, 0.6]], atol=1e-6)
    assert labels.tolist() == [["a", "b"]]
    idx.save(tmp_path)
    again = CentroidIndex.load(tmp_path)
    assert again.labels.tolist() == ["a", "b", "c"]
    sims2, labels2 = again.search(q, k=4)
    assert labels2[0, 3] is None and sims2[0, 3] == -np.inf


def test_bad_type_and_mismatch() -> None:
    with pytest.raises(ValueError):
        CentroidIndex.build(np.eye(2, dtype=np.float32), np.array(["a", "b"]), _config(type="lsh"))
    with pytest.raises(ValueError):
        CentroidIndex(faiss.IndexFlatIP(2), np.array(["a"]))


def _clustered(n_centres: int, per: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = l2_normalise(rng.standard_normal((n_centres, dim)))
    points = l2_normalise(np.repeat(centres, per, axis=0) + 0.3 * rng.standard_normal((n_centres * per, dim)))
    return points, l2_normalise(points[rng.choice(len(points), 300)] + 0.05 * rng.standard_normal((300, dim)))


@pytest.mark.parametrize(
    "config",
    [
        _config(type="hnsw", hnsw_m=16, hnsw_ef_search=64),
        _config(type="ivfpq", ivf_nlist=16, ivf_nprobe=8, pq_m=16),
    ],
)
def test_approximate_recall_against_exact(config: IndexConfig, tmp_path: Path) -> None:
    base, queries = _clustered(100, 10, 32, 0)
    labels = np.array([str(i) for i in range(len(base))], dtype=object)
    exact = CentroidIndex.build(base, labels)
    approx = CentroidIndex.build(base, labels, config)
    _, exact_labels = exact.search(queries, 1)
    _, approx_labels = approx.search(queries, 1)
    recall = recall_at_1(approx_labels, exact_labels)
    assert recall >= 0.9, f"{config.type} recall@1 {recall:.3f}"
    approx.save(tmp_path)
    _, loaded_labels = CentroidIndex.load(tmp_path).search(queries, 1)
    assert recall_at_1(loaded_labels, approx_labels) >= 0.99


def test_ivfpq_on_few_vectors_falls_back_to_ivf_flat() -> None:
    base, queries = _clustered(10, 10, 32, 1)
    labels = np.array([str(i) for i in range(len(base))], dtype=object)
    approx = CentroidIndex.build(base, labels, _config(type="ivfpq", ivf_nlist=8, ivf_nprobe=8))
    _, exact_labels = CentroidIndex.build(base, labels).search(queries, 1)
    _, approx_labels = approx.search(queries, 1)
    assert recall_at_1(approx_labels, exact_labels) == 1.0
