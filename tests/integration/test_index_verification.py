"""The index stage with geometric verification on (params index.verification.enabled), as a
subprocess on a tiny generated world: reference features stored beside the index, the threshold
calibrated on the verified score, the loaded recognizer answering the same from many threads as
sequentially, the embeddings-only `landmark-index` pyfunc accepting on the plain similarity's own
threshold, and the evaluate stage scoring the verifying index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK, SPLIT_CALIBRATION, SPLIT_QUERY, read_manifest
from landmark.params import load_params
from landmark.registry.index_model import log_index_model
from landmark.retrieval.build import calibrate_index
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.reference_features import FILE, ReferenceFeatures
from landmark.retrieval.threshold import read_embedding_threshold
from landmark.retrieval.verified_search import search_candidates, verify_candidates
from tests.integration.index_project import index_project
from tests.integration.tiny_project import REPO, tiny_params

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index_verify")
    raw = tiny_params()
    # 64 px sample photos: upscaled x2 they have enough keypoints to verify
    raw["index"]["verification"].update({"enabled": True, "photos_per_landmark": 4, "verify_per_landmark": 2,
                                         "top_landmarks": 2, "upscale": 2.0})
    index_project(root, raw)
    env = dict(os.environ, PYTHONPATH=str(REPO), MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}")
    proc = subprocess.run([sys.executable, "-m", "landmark.stages.index"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


def test_the_index_stage_stores_references_and_a_verified_threshold(project: Path) -> None:
    index_dir = project / "artifacts" / "index"
    meta = json.loads((index_dir / "index.json").read_text())
    metrics = json.loads((index_dir / "metrics.json").read_text())
    assert meta["verification"]["enabled"] is True and meta["verification"]["photos_per_landmark"] == 4
    refs = ReferenceFeatures.load(index_dir)
    assert refs is not None and (index_dir / FILE).stat().st_size > 0
    indexed = read_manifest(index_dir / "database.csv")
    assert set(refs.by_landmark) == set(indexed["landmark"])  # every indexed landmark has references
    assert all(1 <= len(v) <= 4 and refs.embeddings[k].shape[0] == len(v) for k, v in refs.by_landmark.items())
    assert set(refs.image_ids) <= set(indexed["image_id"]) and metrics["verification_references"] == len(refs.image_ids)
    # the verified score lies in [-1, 1]; the threshold was set on it
    assert -1.0 <= meta["threshold"] <= 1.0 and metrics["calibration_inliers_median"] >= 0


def test_verified_answers_from_threads_equal_sequential_ones(project: Path) -> None:
    index_dir = project / "artifacts" / "index"
    model = next((project / "artifacts" / "train").glob("stage_*/model.pt"))
    recognizer = Recognizer.load(index_dir, model, backend="fp32")
    assert recognizer.verifies
    split = read_manifest(project / "artifacts" / "split" / "manifest.csv")
    queries = [project / "data" / p for p in split.loc[split["split"] == SPLIT_QUERY, "path"].head(16)]
    assert recognizer.references is not None and recognizer.verification is not None
    emb = recognizer.embed(queries)
    got = verify_candidates(search_candidates(recognizer.index, emb, 2), recognizer.local_features(queries), emb,
                            recognizer.references, recognizer.verification)
    assert (got.inliers >= recognizer.verification.min_inliers).any(), got.inliers  # verification does fire here
    sequential = [recognizer.recognize([q])[0] for q in queries]
    batch = recognizer.recognize(queries)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda q: recognizer.recognize([q])[0], queries))
    assert threaded == sequential
    for a, b in zip(batch, sequential, strict=True):  # batching changes float rounding, not answers
        assert a.landmark == b.landmark and a.candidate == b.candidate and abs(a.confidence - b.confidence) < 1e-4
    # the confidence is the threshold's mapping of the verified score: 0.5 exactly at the threshold
    accepted = [p for p in sequential if p.landmark is not None]
    assert all(p.confidence >= 0.5 for p in accepted)
    assert all(p.confidence < 0.5 for p in sequential if p.landmark is None)
    assert np.isfinite([p.similarity for p in sequential]).all()


def test_the_embeddings_only_index_model_uses_the_plain_similarity_threshold(project: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The landmark-index pyfunc cannot verify: it must accept on a threshold calibrated on the plain
    similarity (index.json's embedding_threshold), not on the verified score's."""
    index_dir = project / "artifacts" / "index"
    meta = json.loads((index_dir / "index.json").read_text())
    model = next((project / "artifacts" / "train").glob("stage_*/model.pt"))
    recognizer = Recognizer.load(index_dir, model, backend="fp32")
    split = read_manifest(project / "artifacts" / "split" / "manifest.csv")
    calibration = split[(split["split"] == SPLIT_CALIBRATION) & (split["landmark"] == NON_LANDMARK)]
    plain = calibrate_index(recognizer.index, recognizer.embed([project / "data" / p for p in calibration["path"]]),
                            load_params(project / "params.yaml").index)
    assert meta["embedding_threshold"] == pytest.approx(plain.value, abs=1e-4)
    assert recognizer.embedding_threshold == meta["embedding_threshold"]
    assert abs(meta["embedding_threshold"] - meta["threshold"]) > 1e-3  # two different scores, two thresholds

    queries = split.loc[split["split"] == SPLIT_QUERY, "path"].head(16)
    emb = recognizer.embed([project / "data" / p for p in queries])
    monkeypatch.chdir(project)  # the experiment's artifacts (./mlruns) land in the project
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    with mlflow.start_run(run_name="index pyfunc threshold"):
        info = log_index_model(index_dir)
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    assert pyfunc.unwrap_python_model().threshold == meta["embedding_threshold"]
    out = pyfunc.predict(pd.DataFrame({"embedding": [e.tolist() for e in emb]}))
    assert (out["accepted"] == (out["similarity"] >= plain.value)).all()

    unknown = Recognizer(None, recognizer.index, recognizer.threshold, references=recognizer.references,
                         verification=recognizer.verification)  # answers, but cannot be saved without it
    with pytest.raises(ValueError, match="without embedding_threshold"):
        unknown.save(project / "unsaved_index")
    assert not (project / "unsaved_index").exists()
    meta.pop("embedding_threshold")  # a verifying index saved before it was recorded is refused, not misread
    with pytest.raises(ValueError, match="without `embedding_threshold`"):
        read_embedding_threshold(meta, index_dir)


def test_the_evaluate_stage_scores_a_verifying_index(project: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), MLFLOW_TRACKING_URI=f"sqlite:///{project / 'mlflow.db'}")
    proc = subprocess.run([sys.executable, "-m", "landmark.stages.evaluate", "--no-frozen"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((project / "artifacts" / "evaluate" / "metrics.json").read_text())
    threshold = json.loads((project / "artifacts" / "index" / "index.json").read_text())["threshold"]
    assert metrics["threshold"] == pytest.approx(threshold, abs=1e-5) and 0.0 <= metrics["gap"] <= 1.0
    assert metrics["n_landmark_queries"] >= 5 and metrics["accuracy_at_1"] > 0.3, metrics
