"""The recognizer pyfunc refuses a network file changed after registration.

The digests are recorded by landmark/registry/integrity.py at registration and checked by
RecognizerModel.load_context (`verify_artifacts(context.artifacts)`) before the recognizer is loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from landmark.models.checkpoint import save_embedder
from landmark.models.embedder import create_embedder
from landmark.params import load_params
from landmark.registry.integrity import IntegrityError, record_version_digests
from landmark.registry.pyfunc import log_recognizer
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.threshold import calibrate
from tests.integration.tiny_project import REPO
from tests.project_limits import SERVE_LIMITS

pytestmark = pytest.mark.integration


def test_tampered_network_is_refused_at_load(tmp_path: Path) -> None:
    params = load_params(REPO / "params.yaml")
    model = create_embedder(dataclasses.replace(params.backbone, embed_dim=0, image_size=64))
    save_embedder(model, tmp_path / "model.pt")
    vectors = np.random.default_rng(0).normal(size=(4, model.meta["num_features"])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = CentroidIndex.build(vectors, np.array(["a", "a", "b", "b"], dtype=object))
    Recognizer(model, index, calibrate(np.array([0.1, 0.2, 0.3]), 0.1, (0.1,))).save(tmp_path / "index")

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    store = tmp_path / "artifacts"
    experiment = mlflow.create_experiment("t", artifact_location=store.as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_recognizer(
            tmp_path / "index", tmp_path / "model.pt", registered_model_name="rec", backend="torch", limits=SERVE_LIMITS
        )
    record_version_digests(MlflowClient(uri), "rec", "1")
    mlflow.pyfunc.load_model("models:/rec/1")  # intact: loads

    (stored,) = [p for p in store.rglob("model.pt") if "models" in p.parts]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit inside the weights: torch itself loads it silently
    stored.write_bytes(bytes(data))
    refused = None
    try:
        mlflow.pyfunc.load_model("models:/rec/1")
    except IntegrityError as exc:
        refused = str(exc)
    assert refused is not None, "a tampered model.pt was loaded"
    assert "artifacts/model/model.pt: sha256" in refused
