"""A faiss index over all centroids with an id map (centroid row -> landmark).

Types: `flat` (exact, IndexFlatIP), `hnsw` (IndexHNSWFlat with inner product), `ivfpq`
(IVF + product quantisation with inner product; 8-bit PQ from 9,984 vectors, 4-bit fast-scan PQ
from 624, IVF-Flat below that, as faiss needs about 39 training points per code).
Vectors are L2-normalised, so inner product = cosine similarity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)
INDEX_TYPES = ("flat", "hnsw", "ivfpq")


@dataclass(frozen=True)
class IndexConfig:
    """How to build the index (the faiss part of params `index`; no defaults here: params.yaml holds them)."""

    type: str
    hnsw_m: int
    hnsw_ef_search: int
    ivf_nlist: int
    ivf_nprobe: int
    pq_m: int

    @classmethod
    def from_params(cls, p: object) -> IndexConfig:
        """From an IndexParams (landmark.params)."""
        return cls(
            **{
                k: getattr(p, k)
                for k in ("type", "hnsw_m", "hnsw_ef_search", "ivf_nlist", "ivf_nprobe", "pq_m")
            }
        )


def _pq_m(dim: int, wanted: int) -> int:
    m = max(1, min(wanted, dim))
    while dim % m:
        m -= 1
    return m


def make_faiss_index(vectors: np.ndarray, config: IndexConfig | None) -> faiss.Index:
    """Build (and train if needed) a faiss inner-product index over (C, D) float32 vectors
    (config None: the exact flat index)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    index: faiss.Index
    if config is None or config.type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif config.type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(40, 2 * config.hnsw_m)
        index.hnsw.efSearch = config.hnsw_ef_search
    elif config.type == "ivfpq":
        nlist = max(1, min(config.ivf_nlist, n // 39))  # faiss wants ~39 training points per list
        if n >= 39 * 256:  # enough points for 8-bit PQ codebooks (256 codes per sub-quantizer)
            spec = f"IVF{nlist},PQ{_pq_m(dim, config.pq_m)}"
        elif n >= 39 * 16:  # 4-bit fast-scan PQ: 16 codes per sub-quantizer, trains in a second
            spec = f"IVF{nlist},PQ{_pq_m(dim, config.pq_m)}x4fs"
        else:
            log.warning("only %d vectors: IVF-Flat instead of IVF-PQ", n)
            spec = f"IVF{nlist},Flat"
        index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        faiss.extract_index_ivf(index).nprobe = min(config.ivf_nprobe, nlist)
    else:
        raise ValueError(f"index.type must be one of {INDEX_TYPES}, got {config.type!r}")
    index.add(vectors)
    return index


class CentroidIndex:
    """faiss index + the landmark of each row. Search gives top-k (similarity, landmark)."""

    def __init__(self, index: faiss.Index, labels: np.ndarray, sizes: np.ndarray | None = None) -> None:
        if index.ntotal != len(labels):
            raise ValueError(f"index holds {index.ntotal} vectors but {len(labels)} labels")
        self.index = index
        self.labels = np.asarray(labels, dtype=object)
        self.sizes = np.ones(len(labels), dtype=np.int64) if sizes is None else np.asarray(sizes)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        labels: np.ndarray,
        config: IndexConfig | None = None,
        sizes: np.ndarray | None = None,
    ) -> CentroidIndex:
        """vectors: (C, D) float32 L2-normalised; labels: (C,) landmark of each vector; config None: the
        exact flat index."""
        return cls(make_faiss_index(vectors, config), labels, sizes)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def landmarks(self) -> list[str]:
        return sorted(set(self.labels.tolist()))

    def search(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """queries: (Q, D) float32 L2-normalised -> similarities (Q, k) float32, landmarks (Q, k) object.
        Missing neighbours (k > ntotal, or an IVF probe that found too few) get similarity -inf and
        label None."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        sims, ids = self.index.search(queries, k)
        labels = np.full(ids.shape, None, dtype=object)
        ok = ids >= 0
        labels[ok] = self.labels[ids[ok]]
        sims = np.where(ok, sims, -np.inf).astype(np.float32)
        return sims, labels

    def vectors(self) -> np.ndarray:
        """(C, D) float32 stored vectors (exact for flat/hnsw, decoded approximations for ivfpq)."""
        return self.index.reconstruct_n(0, self.index.ntotal)

    def save(self, folder: Path) -> None:
        """Write folder/index.faiss and folder/centroids.csv (row, landmark, size)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / "index.faiss"))
        pd.DataFrame(
            {"row": np.arange(len(self.labels)), "landmark": self.labels, "size": self.sizes}
        ).to_csv(folder / "centroids.csv", index=False)

    @classmethod
    def load(cls, folder: Path) -> CentroidIndex:
        """Read what save wrote."""
        folder = Path(folder)
        index = faiss.read_index(str(folder / "index.faiss"))
        table = pd.read_csv(folder / "centroids.csv", dtype={"landmark": str}, keep_default_na=False)
        return cls(index, table["landmark"].to_numpy(dtype=object), table["size"].to_numpy())

    def describe(self) -> dict[str, object]:
        """Small JSON-able summary."""
        return {
            "ntotal": int(self.index.ntotal),
            "dim": self.dim,
            "faiss": type(self.index).__name__,
            "landmarks": len(self.landmarks),
        }


def recall_at_1(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Share of queries whose first neighbour matches exact search: (Q, k), (Q, k) -> float."""
    return float(np.mean(np.asarray(approx_ids)[:, 0] == np.asarray(exact_ids)[:, 0]))
