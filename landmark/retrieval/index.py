"""A faiss index over all centroids with an id map (centroid row -> landmark).

Types: `flat` (exact, IndexFlatIP), `hnsw` (IndexHNSWFlat with inner product), `ivfpq`
(IVF + product quantisation with inner product; 8-bit PQ from 9,984 vectors, 4-bit fast-scan PQ
from 624, IVF-Flat below that, as faiss needs about 39 training points per code).
Vectors are L2-normalised, so inner product = cosine similarity. A landmark may have several rows
(views), plus one `mean` row (its mean over all its photos), and every row may carry a score offset
(landmark.retrieval.centring). `search` answers landmarks, not rows: each landmark ranked by its best
row's score (similarity minus offset), with its acceptance score: its mean row's score when the index
has mean rows (a view may decide WHICH landmark, only the landmark as a whole decides WHETHER), else
its best row's. With offsets or several rows per landmark, the best k * rows-per-landmark + RERANK
rows are searched and re-ranked (exact for indexes of at most that many rows); a landmark's mean-row
score is computed from its stored vector, so it is exact even when that row was not among them.
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
RERANK = 64  # rows searched beyond what k landmarks need, for re-ranking by offsets


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


def unwrap(index: faiss.Index) -> tuple[list[faiss.VectorTransform], faiss.Index]:
    """(the transforms an IndexPreTransform applies to queries, in order; the index it searches)."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        chain = index.chain  # a faiss std::vector (the stubs call it a list)
        chain = [faiss.downcast_VectorTransform(chain.at(i)) for i in range(chain.size())]  # type: ignore[attr-defined]
        return chain, faiss.downcast_index(index.index)
    return [], index


def direct_map(index: faiss.Index) -> None:
    """Give an IVF index the id -> vector map `reconstruct_batch` needs (other types have it)."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap:  # type: ignore[attr-defined]  # not in the stubs
        ivf.make_direct_map()


class CentroidIndex:
    """faiss index + the landmark of each row. Search gives top-k (similarity, landmark)."""

    def __init__(
        self,
        index: faiss.Index,
        labels: np.ndarray,
        sizes: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
        is_mean: np.ndarray | None = None,
    ) -> None:
        if index.ntotal != len(labels):
            raise ValueError(f"index holds {index.ntotal} vectors but {len(labels)} labels")
        self.index = index
        self.labels = np.asarray(labels, dtype=object)
        self.sizes = np.ones(len(labels), dtype=np.int64) if sizes is None else np.asarray(sizes)
        self.offsets = np.zeros(len(labels), np.float32) if offsets is None else np.asarray(offsets, np.float32)
        self.is_mean = np.zeros(len(labels), bool) if is_mean is None else np.asarray(is_mean, bool)
        for name, values in (("offsets", self.offsets), ("is_mean", self.is_mean)):
            if values.shape != (len(labels),):
                raise ValueError(f"{values.shape[0]} {name} for {len(labels)} rows")
        self._names, self._codes, per_landmark = np.unique(self.labels.astype(str), return_inverse=True,
                                                           return_counts=True)
        self._names = self._names.astype(object)
        self.rows_per_landmark = int(per_landmark.max()) if len(per_landmark) else 1
        # each landmark's mean row (-1: none), whose stored vector gives its exact acceptance score
        self._mean_rows: np.ndarray | None = None
        self._transforms: list[faiss.VectorTransform] = []
        self._inner = index
        if self.is_mean.any():
            self._mean_rows = np.full(len(self._names), -1, np.int64)
            self._mean_rows[self._codes[self.is_mean]] = np.flatnonzero(self.is_mean)
            # the mean rows' scores are computed in the index's own space: queries through its transforms
            # (whitening), the mean vectors read from the inner index
            self._transforms, self._inner = unwrap(index)
            direct_map(self._inner)  # here, not in search: search must not change the index (concurrent callers)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        labels: np.ndarray,
        config: IndexConfig | None = None,
        sizes: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
        is_mean: np.ndarray | None = None,
    ) -> CentroidIndex:
        """vectors: (C, D) float32 L2-normalised; labels: (C,) landmark of each vector; config None: the
        exact flat index; offsets: (C,) subtracted from each row's similarity (None: 0); is_mean: (C,)
        True for a landmark's mean row (None: no mean rows)."""
        return cls(make_faiss_index(vectors, config), labels, sizes, offsets, is_mean)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def landmarks(self) -> list[str]:
        return sorted(set(self.labels.tolist()))

    def search(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """queries: (Q, D) float32 L2-normalised -> the k best landmarks per query: scores (Q, k) float32
        (each landmark's acceptance score, see the module docstring) and landmarks (Q, k) object, in the
        order of their best row. Missing ones (fewer landmarks, or an IVF probe that found too few) get
        score -inf and landmark None."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self.rows_per_landmark == 1 and not self.offsets.any():  # rows are landmarks: faiss answers
            sims, ids = self.index.search(queries, k)
            labels = np.full(ids.shape, None, dtype=object)
            ok = ids >= 0
            labels[ok] = self.labels[ids[ok]]
            return np.where(ok, sims, -np.inf).astype(np.float32), labels
        n = min(k * self.rows_per_landmark + RERANK, max(k, self.index.ntotal))
        sims, ids = self.index.search(queries, n)
        scores = np.where(ids >= 0, sims - self.offsets[np.maximum(ids, 0)], -np.inf)
        order = np.argsort(-scores, axis=1, kind="stable")
        ids, scores = np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)
        codes = np.where(ids >= 0, self._codes[np.maximum(ids, 0)], -1)
        # each landmark's first (best) row in rank order, then the first k of those
        by_code = np.argsort(codes, axis=1, kind="stable")
        sorted_codes = np.take_along_axis(codes, by_code, 1)
        repeat = np.zeros(codes.shape, bool)
        repeat[:, 1:] = sorted_codes[:, 1:] == sorted_codes[:, :-1]
        first = np.empty_like(repeat)
        np.put_along_axis(first, by_code, ~repeat, 1)
        first &= codes >= 0
        slot = np.cumsum(first, axis=1) - 1
        q, j = np.nonzero(first & (slot < k))
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_labels = np.full((len(queries), k), None, dtype=object)
        picked = codes[q, j]
        out_labels[q, slot[q, j]] = self._names[picked]
        if self._mean_rows is None:
            out_scores[q, slot[q, j]] = scores[q, j]
        else:  # the mean row's score, exact even when that row was not among the n searched
            rows = self._mean_rows[picked]
            has = rows >= 0
            inner_queries = queries
            for transform in self._transforms:  # once per query, not once per (query, landmark)
                inner_queries = transform.apply(inner_queries)
            mean_sims = np.einsum("qd,qd->q", inner_queries[q[has]], self._inner.reconstruct_batch(rows[has]))
            out_scores[q[has], slot[q[has], j[has]]] = mean_sims - self.offsets[rows[has]]
        return out_scores, out_labels

    def vectors(self) -> np.ndarray:
        """(C, D) float32 stored vectors (exact for flat/hnsw, decoded approximations for ivfpq)."""
        return self.index.reconstruct_n(0, self.index.ntotal)

    def save(self, folder: Path) -> None:
        """Write folder/index.faiss and folder/centroids.csv (row, landmark, size, offset, kind)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / "index.faiss"))
        pd.DataFrame(
            {"row": np.arange(len(self.labels)), "landmark": self.labels, "size": self.sizes,
             "offset": self.offsets, "kind": np.where(self.is_mean, "mean", "view")}
        ).to_csv(folder / "centroids.csv", index=False, float_format="%.9g")

    @classmethod
    def load(cls, folder: Path) -> CentroidIndex:
        """Read what save wrote."""
        folder = Path(folder)
        index = faiss.read_index(str(folder / "index.faiss"))
        table = pd.read_csv(folder / "centroids.csv", dtype={"landmark": str}, keep_default_na=False)
        offsets = table["offset"].to_numpy(np.float32) if "offset" in table else None  # older indexes: none
        is_mean = table["kind"].to_numpy(dtype=str) == "mean" if "kind" in table else None
        return cls(index, table["landmark"].to_numpy(dtype=object), table["size"].to_numpy(), offsets, is_mean)

    def describe(self) -> dict[str, object]:
        """Small JSON-able summary."""
        return {
            "ntotal": int(self.index.ntotal),
            "dim": self.dim,
            "faiss": type(self.index).__name__,
            "landmarks": len(self.landmarks),
            "centred": bool(self.offsets.any()),
            "mean_rows": int(self.is_mean.sum()),
        }


def recall_at_1(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Share of queries whose first neighbour matches exact search: (Q, k), (Q, k) -> float."""
    return float(np.mean(np.asarray(approx_ids)[:, 0] == np.asarray(exact_ids)[:, 0]))
