"""The recognizer the serving benchmarks serve: params.backbone (tf_efficientnet_lite0, ImageNet
weights, at backbone.image_size, GeM + untrained 512-d neck: speed only) + a flat index of 1,000 random centroids +
a threshold, saved to a folder, exported, and logged as the pyfunc to a temporary sqlite MLflow store.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("LANDMARK_REAL_DATA", REPO.parent / "shared" / "data" / "real-landmarks"))
MODEL_NAME = "bench-recognizer"


def real_photos(n: int) -> list[Path]:
    """n of the real 128 px photos (every k-th), or FileNotFoundError naming the folder."""
    paths = sorted((REAL / "images").glob("*.png"))
    if len(paths) < n:
        raise FileNotFoundError(f"{REAL}/images: fewer than {n} photos (set LANDMARK_REAL_DATA)")
    return paths[:: len(paths) // n][:n]


def build_bundle(folder: Path) -> tuple[Path, Path]:
    """Write model.pt (+ its fp32 export and manifest) and index/ into folder: (index_dir, model_path)."""
    from landmark.models.checkpoint import save_embedder
    from landmark.models.embedder import create_embedder
    from landmark.models.onnx_embedder import fast_embedder
    from landmark.params import load_params
    from landmark.retrieval.centroids import l2_normalise
    from landmark.retrieval.index import CentroidIndex
    from landmark.retrieval.recognizer import Recognizer
    from landmark.retrieval.threshold import Threshold

    model = create_embedder(load_params(REPO / "params.yaml").backbone)
    save_embedder(model, folder / "model.pt")
    rng = np.random.default_rng(0)
    vectors = l2_normalise(rng.standard_normal((1000, model.embed_dim)).astype(np.float32))
    index = CentroidIndex.build(vectors, np.array([f"lm{i // 3}" for i in range(1000)], dtype=object))
    Recognizer(model, index, Threshold(0.5, 0.01)).save(folder / "index")
    fast_embedder(folder / "model.pt", "fp32")  # the export and its manifest
    return folder / "index", folder / "model.pt"


def log_bundle(folder: Path, index_dir: Path, model_path: Path) -> tuple[str, str]:
    """Log and register the bundle in a sqlite store under folder: (tracking uri, model uri)."""
    import mlflow

    from landmark.params import load_params
    from landmark.registry.pyfunc import log_recognizer

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("bench", artifact_location=(folder / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_recognizer(
            index_dir, model_path, registered_model_name=MODEL_NAME, limits=load_params(REPO / "params.yaml").serve
        )
    return uri, f"models:/{MODEL_NAME}/1"
