"""Recognition latency per photo (p50, p95) and batch throughput on 2 threads, decode included.

The recognizer: params.backbone (tf_efficientnet_lite0, ImageNet weights, at backbone.image_size, GeM +
512-d neck;
untrained neck: speed only) + a flat faiss index of 1,000 centroids + threshold. Photos: the real
128 px PNG files. Figures, all in this run:
  * p50 / p95 latency of `Recognizer.recognize([path])` (decode + preprocess + CNN + search), one photo
    at a time, against the network forward alone on a ready (1, 3, S, S) tensor, S = backbone.image_size
    (baseline);
  * throughput of recognize() on batches of 32 paths against one photo at a time (baseline);
  * throughput on batches of 32 with geometric verification (params index.verification: each photo's
    SIFT features, top_landmarks x verify_per_landmark MAGSAC fits against real reference photos)
    against the same recognizer without it (baseline).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from landmark.models.embedder import create_embedder
from landmark.params import load_params
from landmark.retrieval.centroids import l2_normalise
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.reference_features import ReferenceFeatures
from landmark.retrieval.threshold import Threshold
from landmark.retrieval.verification import extract

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("LANDMARK_REAL_DATA", REPO.parent / "shared" / "data" / "real-landmarks"))
N_SINGLE, N_BATCH, BATCH = 64, 128, 32


def _recognizer() -> Recognizer:
    params = load_params(REPO / "params.yaml")
    model = create_embedder(params.backbone)
    rng = np.random.default_rng(0)
    vectors = l2_normalise(rng.standard_normal((1000, model.embed_dim)).astype(np.float32))
    index = CentroidIndex.build(vectors, np.array([f"lm{i // 3}" for i in range(1000)], dtype=object))
    return Recognizer(model, index, Threshold(0.5, 0.01))


def _verifying(rec: Recognizer, photos: list[Path]) -> Recognizer:
    """The same network, index and threshold, verifying every landmark against verify_per_landmark real
    reference photos (cycled over `photos`; random embeddings: which ones are nearest does not matter)."""
    from PIL import Image

    vp = load_params(REPO / "params.yaml").index.verification
    feats = [extract(Image.open(p).convert("RGB"), vp) for p in photos]
    rng = np.random.default_rng(1)
    names = rec.index.landmarks
    per = vp.verify_per_landmark
    by_landmark = {n: [feats[(i * per + j) % len(feats)] for j in range(per)] for i, n in enumerate(names)}
    vectors = {n: l2_normalise(rng.standard_normal((per, rec.index.dim)).astype(np.float32)) for n in names}
    refs = ReferenceFeatures(by_landmark, vectors, tuple(str(p) for p in photos), vp.features)
    return Recognizer(rec.embedder, rec.index, rec.threshold, references=refs, verification=vp)


def main() -> list[dict]:
    torch.set_num_threads(2)
    paths = sorted((REAL / "images").glob("*.png"))
    if not paths:
        raise FileNotFoundError(f"{REAL}/images: no photos (set LANDMARK_REAL_DATA)")
    rec = _recognizer()
    rec.recognize(paths[:BATCH])  # warm-up
    lat = []
    for p in paths[:N_SINGLE]:
        start = time.perf_counter()
        rec.recognize([p])
        lat.append((time.perf_counter() - start) * 1e3)
    size = int(rec.embedder.data_config["input_size"][-1])  # type: ignore[union-attr]  # _recognizer gives one
    x = torch.randn(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    fwd = []
    with torch.inference_mode():
        for _ in range(N_SINGLE):
            start = time.perf_counter()
            rec.embedder(x)  # type: ignore[misc]
            fwd.append((time.perf_counter() - start) * 1e3)
    start = time.perf_counter()
    for i in range(0, N_BATCH, BATCH):
        rec.recognize(paths[i : i + BATCH])
    batch_rate = N_BATCH / (time.perf_counter() - start)
    single_rate = 1e3 / float(np.mean(lat))
    verifying = _verifying(rec, paths[-64:])
    verifying.recognize(paths[:BATCH])  # warm-up
    start = time.perf_counter()
    for i in range(0, N_BATCH, BATCH):
        verifying.recognize(paths[i : i + BATCH])
    verified_rate = N_BATCH / (time.perf_counter() - start)
    vp = verifying.verification
    rows = []
    for q in (50, 95):
        project, base = float(np.percentile(lat, q)), float(np.percentile(fwd, q))
        rows.append(
            {
                "figure": f"p{q} latency per photo, ms (decode+CNN+search vs CNN forward only)",
                "project": round(project, 2),
                "baseline": round(base, 2),
                "ratio": round(project / base, 2),
            }
        )
    rows.append(
        {
            "figure": f"photos/s, batches of {BATCH} vs one at a time (decode included)",
            "project": round(batch_rate, 1),
            "baseline": round(single_rate, 1),
            "ratio": round(batch_rate / single_rate, 2),
        }
    )
    assert vp is not None
    rows.append(
        {
            "figure": f"photos/s, batches of {BATCH}, with geometric verification ({vp.features}, "
                      f"{vp.top_landmarks}x{vp.verify_per_landmark} fits a photo) vs without",
            "project": round(verified_rate, 1),
            "baseline": round(batch_rate, 1),
            "ratio": round(verified_rate / batch_rate, 3),
        }
    )
    print("| figure | project | baseline | ratio |\n| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['figure']} | {r['project']} | {r['baseline']} | {r['ratio']} |")
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
