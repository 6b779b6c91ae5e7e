"""The MLflow server goes down between the two registrations of a pair: the half that exists is never
promotable, and a retry (what the flow's task retries do) completes the same pair once the server is
back. A real `mlflow server` on 127.0.0.1 (sqlite + proxied artifacts in tmp_path), stopped and
started; no mock of MLflow."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from flows.retrain import register_and_gate
from landmark.params import PromotionParams
from landmark.registry.index_model import log_index_model
from landmark.registry.pair import COMPLETE, INCOMPLETE, PAIR_TAG, complete_pair, pair_status, register_pair
from landmark.registry.promotion import force_promote, gate
from landmark.retrieval.index import CentroidIndex

pytestmark = pytest.mark.integration
NAMES = ("rec", "idx")
LINEAGE = {"lineage.key": "k1", "lineage.git_commit": "abc"}


class Server:
    """`mlflow server` on 127.0.0.1:port over one sqlite store and one artifact folder."""

    def __init__(self, root: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.root, self.url = root, f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{self.root / 'db'}",
                "--artifacts-destination", str(self.root / "artifacts"), "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", "1"]
        log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.3)
        raise RuntimeError(f"mlflow server not ready: {(self.root / 'server.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail fast: the flow's retries are the test
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    srv = Server(tmp_path)
    srv.start()
    mlflow.set_tracking_uri(srv.url)
    yield srv
    srv.stop()


def _index_dir(tmp: Path) -> Path:
    vectors = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    folder = tmp / "index"
    CentroidIndex.build(vectors, np.array(["a", "a", "b", "b"], dtype=object)).save(folder)
    (folder / "index.json").write_text(json.dumps({"threshold": 0.5}))
    return folder


def test_registration_task_is_retried() -> None:
    assert register_and_gate.retries >= 2 and register_and_gate.retry_delay_seconds


def test_server_down_between_the_two_registrations(server: Server, tmp_path: Path) -> None:
    client = MlflowClient(server.url)
    folder = _index_dir(tmp_path)
    experiment = client.create_experiment("t")

    def second_while_server_dies() -> mlflow.models.model.ModelInfo:
        server.stop()  # the server becomes unreachable right after the first half was registered
        return log_index_model(folder)

    with pytest.raises((MlflowException, requests.RequestException)):  # ending the run fails too
        with mlflow.start_run(experiment_id=experiment):
            register_pair(client, NAMES, LINEAGE, (lambda: log_index_model(folder), second_while_server_dies))

    server.start()  # back; the task's retry runs (in a new process in the flow: no run left active)
    while mlflow.active_run() is not None:
        mlflow.end_run("FAILED")
    (half,) = client.search_model_versions("name='rec'")
    assert half.tags[PAIR_TAG] == INCOMPLETE and half.tags["lineage.key"] == "k1"
    assert not client.search_model_versions("name='idx'")
    with pytest.raises(MlflowException, match=r"rec v1 cannot be promoted: pair.status=incomplete"):
        loose = PromotionParams(gap_margin=-1.0, confidence=0.95, bootstrap_samples=10, max_fpr_rise=1.0, seed=0)
        gate(client, "rec", "1", loose)
    with pytest.raises(MlflowException, match="cannot be promoted"):
        force_promote(client, "rec", "1", "by hand")

    with mlflow.start_run(experiment_id=experiment):
        first, second, registered = register_pair(
            client, NAMES, LINEAGE, (lambda: pytest.fail("the first half must be reused"),
                                     lambda: log_index_model(folder)))
    assert (first, second, registered) == ("1", "1", True)
    complete_pair(client, NAMES, (first, second))
    assert pair_status(client, "rec", "1") == pair_status(client, "idx", "1") == COMPLETE
    assert client.get_model_version("rec", "1").tags["index_version"] == "1"
    assert len(client.search_model_versions("name='rec'")) == 1  # resumed, not registered twice
    force_promote(client, "rec", "1", "complete now")
    assert client.get_model_version_by_alias("rec", "champion").version == "1"
