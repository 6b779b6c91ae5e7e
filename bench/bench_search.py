"""faiss search over synthetic clustered centroids: time per query and recall@1 against exact search.

For 10k and 1M centroids (D = 128 to fit the time and memory of 2 shared cores; 1M x 128 float32 is
512 MB): exact IndexFlatIP (the baseline, same run) against IVF-Flat (nlist ~ 4 sqrt(N), nprobe from a
sweep: the smallest reaching recall@1 >= 0.99) and, at 10k only, HNSW (building HNSW over 1M on 2 busy
cores takes too long for a bench run). At 1M also the memory of IVF-PQ (params.yaml `index.pq_m`
bytes a vector: what `index.type: ivfpq` builds) against the exact index: serialized bytes, and its
recall@1 at nprobe 64.
Queries: database vectors plus noise, 1,000 per size, searched as one batch on 2 threads; time per
query = batch time / queries.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)
DIM, QUERIES, SIZES = 128, 1000, (10_000, 1_000_000)
NPROBES = (4, 8, 16, 32, 64, 128)
PQ_NPROBE = 64


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(10, n // 50), DIM)).astype(np.float32)
    base = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    faiss.normalize_L2(base)
    queries = base[rng.choice(n, QUERIES, replace=False)] + 0.05 * rng.standard_normal((QUERIES, DIM)).astype(
        np.float32
    )
    faiss.normalize_L2(queries)
    return base, queries


def _row(figure: str, project: float, baseline: float, ratio: float, recall: float, build_s: float,
         unit: str, digits: int = 4) -> dict:
    """One result row, rounded as RESULTS.md shows it (project and baseline to `digits`)."""
    return {"figure": figure, "project": round(project, digits), "baseline": round(baseline, digits),
            "ratio": round(ratio, 1), "recall_at_1": round(recall, 4), "build_s": round(build_s, 1), "unit": unit}


def _timed_search(index: faiss.Index, queries: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    index.search(queries[:10], 1)
    best, ids = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        _, ids = index.search(queries, 1)
        best = min(best, time.perf_counter() - start)
    return best / len(queries) * 1e3, ids


def bench_size(n: int) -> list[dict]:
    base, queries = _data(n, seed=n)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    exact_ms, exact_ids = _timed_search(exact, queries, repeats=1 if n > 100_000 else 3)
    rows = []
    nlist = int(4 * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    start = time.perf_counter()
    ivf.train(base[np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)])
    ivf.add(base)
    build = time.perf_counter() - start
    for nprobe in NPROBES:
        ivf.nprobe = nprobe
        ms, ids = _timed_search(ivf, queries)
        recall = float(np.mean(ids[:, 0] == exact_ids[:, 0]))
        log.info("n=%d IVF%d nprobe=%d: %.4f ms/query recall@1 %.4f", n, nlist, nprobe, ms, recall)
        if recall >= 0.99 or nprobe == NPROBES[-1]:
            rows.append(_row(f"ms/query, {n:,} centroids, IVF{nlist},Flat nprobe={nprobe}", ms, exact_ms,
                             exact_ms / ms, recall, build, "ms (exact: FlatIP)"))
            break
    if n >= 1_000_000:
        rows.append(_ivfpq_memory(base, queries, exact, exact_ids, nlist))
    if n <= 100_000:
        hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        start = time.perf_counter()
        hnsw.add(base)
        build = time.perf_counter() - start
        hnsw.hnsw.efSearch = 128
        ms, ids = _timed_search(hnsw, queries)
        rows.append(_row(f"ms/query, {n:,} centroids, HNSW32 efSearch=128", ms, exact_ms, exact_ms / ms,
                         float(np.mean(ids[:, 0] == exact_ids[:, 0])), build, "ms (exact: FlatIP)"))
    return rows


def _mib(index: faiss.Index) -> float:
    return float(faiss.serialize_index(index).nbytes) / 2**20


def _ivfpq_memory(base: np.ndarray, queries: np.ndarray, exact: faiss.Index, exact_ids: np.ndarray,
                  nlist: int) -> dict:
    """IVF-PQ over `base`: its serialized size against the exact index's, and recall@1 at PQ_NPROBE."""
    from landmark.params import load_params

    pq_m = load_params(Path(__file__).resolve().parents[1] / "params.yaml").index.pq_m
    quantizer = faiss.IndexFlatIP(DIM)
    pq = faiss.IndexIVFPQ(quantizer, DIM, nlist, pq_m, 8, faiss.METRIC_INNER_PRODUCT)
    start = time.perf_counter()
    pq.train(base[np.random.default_rng(1).choice(len(base), min(len(base), 40 * nlist), replace=False)])
    pq.add(base)
    build = time.perf_counter() - start
    pq.nprobe = PQ_NPROBE
    _, ids = _timed_search(pq, queries, repeats=1)
    flat_mib, pq_mib = _mib(exact), _mib(pq)
    log.info("n=%d IVF%d,PQ%d: %.1f MiB vs flat %.1f MiB", len(base), nlist, pq_m, pq_mib, flat_mib)
    recall = float(np.mean(ids[:, 0] == exact_ids[:, 0]))
    return _row(f"index MiB, {len(base):,} centroids, IVF{nlist},PQ{pq_m}x8 nprobe={PQ_NPROBE}", pq_mib, flat_mib,
                flat_mib / pq_mib, recall, build, "MiB serialized (exact: FlatIP)", digits=1)


def main() -> list[dict]:
    faiss.omp_set_num_threads(2)
    rows = [row for n in SIZES for row in bench_size(n)]
    keys = ["figure", "project", "baseline", "ratio", "recall_at_1", "build_s"]
    print("| " + " | ".join(keys) + " |\n|" + " --- |" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
