"""The flow's registration task, retried by Prefect while the MLflow server is down.

A real Prefect flow runs the real `register-and-gate` task (which runs `python -m
landmark.registry.register` in the project) against a real `mlflow server` on 127.0.0.1 that is
stopped when the first attempt runs. The task's retry condition is the test's only hook: it starts the
server again before Prefect retries. The second attempt registers the recognizer and the index as a
complete pair, once each, with their digests, and promotes the recognizer.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect import flow

from flows.retrain import register_and_gate
from landmark import layout
from landmark.models.checkpoint import save_embedder
from landmark.models.embedder import create_embedder
from landmark.params import load_params
from landmark.registry.integrity import DIGEST_TAG
from landmark.registry.pair import COMPLETE, PAIR_TAG
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.threshold import calibrate
from tests.integration.test_registry_pair_faults import Server
from tests.integration.tiny_project import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _registrable_project(root: Path) -> Path:
    """What registration reads: params, the last stage's network, the index, the evaluation; a git repo."""
    root.mkdir(parents=True)
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    params = load_params(root / "params.yaml")
    model = create_embedder(dataclasses.replace(params.backbone, embed_dim=0, image_size=64))
    save_embedder(model, root / layout.train_stage_dir(len(params.train.stages)) / "model.pt")
    vectors = np.random.default_rng(0).normal(size=(4, model.meta["num_features"])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = CentroidIndex.build(vectors, np.array(["a", "a", "b", "b"], dtype=object))
    Recognizer(model, index, calibrate(np.array([0.1, 0.2, 0.3]), 0.1, (0.1,))).save(root / layout.INDEX)
    (root / layout.EVALUATE).mkdir(parents=True)
    metrics = {"gap": 0.5, "sensitivity_at_fpr_1pct": 0.4, "fpr_at_threshold": 0.01, "accuracy_at_1": 0.6}
    (root / layout.EVALUATE / "metrics.json").write_text(json.dumps(metrics))
    pd.DataFrame({"image_id": ["q1", "q2"], "landmark": ["a", "b"]}).to_csv(
        root / layout.EVALUATE / "predictions.csv", index=False)
    for args in (["init", "-q"], ["add", "params.yaml"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


def test_registration_retried_after_the_server_comes_back(tmp_path: Path) -> None:
    project = _registrable_project(tmp_path / "project")
    server = Server(tmp_path)
    server.start()
    experiment = MlflowClient(server.url).create_experiment("retrain")
    server.stop()  # down when the flow reaches registration
    env = {"MLFLOW_TRACKING_URI": server.url, "MLFLOW_EXPERIMENT_ID": experiment,
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    failures: list[str] = []

    def server_back_then_retry(task: Any, task_run: Any, state: Any) -> bool:
        failures.append(str(state.message))
        server.start()
        return True

    @flow(name="register-retry-test")
    def register_only() -> dict[str, Any]:
        task = register_and_gate.with_options(retries=2, retry_delay_seconds=0,
                                              retry_condition_fn=server_back_then_retry)
        return task(project, env, "test-run")

    try:
        summary = register_only()
    finally:
        if server.proc is None or server.proc.poll() is not None:  # the retry did not start it again
            server.start()  # the checks below read the registry through it
    try:
        assert len(failures) == 1 and "registration failed" in failures[0], failures
        assert summary["registered"] is True and summary["promoted"] is True
        client = MlflowClient(server.url)
        for name in ("landmark-recognizer", "landmark-index"):
            (version,) = client.search_model_versions(f"name='{name}'")  # registered once
            assert version.tags[PAIR_TAG] == COMPLETE and DIGEST_TAG in version.tags
        assert client.get_model_version_by_alias("landmark-index", "champion").version == summary["index_version"]
    finally:
        server.stop()
