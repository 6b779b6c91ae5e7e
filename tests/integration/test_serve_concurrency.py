"""Served answers never cross between users: the logged recognizer pyfunc on every backend, then the
real `mlflow models serve` process, under 16 concurrent clients with malformed requests mixed in.
Every good answer must equal the answer to the same photo sent alone (landmark, and similarity to
1e-5 on the same backend); bad rows get their own error rows; nothing hangs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import requests

from landmark.registry.pyfunc import encode_image, log_recognizer
from tests.integration.served_bundle import (
    LOAD_SCRIPT,
    build_bundle,
    free_port,
    malformed_requests,
    mixed_jobs,
    mlflow_serve,
    post_frame,
    query_photos,
    same_answer,
    stop,
    wait_ready,
)
from tests.project_limits import SERVE_LIMITS

pytestmark = pytest.mark.integration
CLIENTS = 16
N_PHOTOS = 32
BACKENDS = ("torch", "fp32", "int8", "ov-fp32", "ov-bf16")
MODEL = "landmark-recognizer-concurrency"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, list[str], Path]:
    """(tracking uri, model uri, base64 photos, work folder) of the logged and registered recognizer."""
    root = tmp_path_factory.mktemp("serve-concurrency")
    index_dir, model_path = build_bundle(root, ("ov-bf16", "int8"))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serve", artifact_location=(root / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_recognizer(index_dir, model_path, registered_model_name=MODEL, limits=SERVE_LIMITS)
    photos = [encode_image(p) for p in query_photos(root / "queries", N_PHOTOS)]
    return uri, info.model_uri, photos, root


def _rows(answer: pd.DataFrame) -> list[dict[str, Any]]:
    return answer.to_dict(orient="records")


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_requests_get_their_own_answers(backend: str, served: tuple[str, str, list[str], Path]) -> None:
    uri, model_uri, photos, root = served
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(model_uri, model_config={"backend": backend})
    assert model.unwrap_python_model().recognizer.backend == backend
    alone = [_rows(model.predict(pd.DataFrame({"image": [p]})))[0] for p in photos]
    assert all(r["error_kind"] == "" for r in alone)
    assert len({round(r["similarity"], 6) for r in alone}) > N_PHOTOS // 2  # distinct answers to tell apart

    malformed = malformed_requests(root / "db_0_0.png")

    def send(job: tuple[int, Any]) -> tuple[int, Any, list[dict[str, Any]] | str]:
        i, bad = job
        frame = pd.DataFrame({"image": [photos[i]]}) if bad is None else pd.DataFrame(bad[0])
        try:
            return i, bad, _rows(model.predict(frame))
        except Exception as exc:  # noqa: BLE001 - counted as a failure below
            return i, bad, f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(send, mixed_jobs(len(photos), malformed, seed=1)))
    failures = [r for r in results if isinstance(r[2], str)]
    assert not failures, failures[:3]
    for i, bad, rows in results:
        assert isinstance(rows, list) and len(rows) == 1
        if bad is None:
            assert same_answer(rows[0], alone[i]), (backend, i, rows[0], alone[i])
        else:
            assert rows[0]["error_kind"] == bad[1] and rows[0]["error"].startswith("row 0:"), rows[0]

    # a request of 8 photos with one bad among them: the 7 good ones are answered as when alone
    frame = pd.DataFrame({"image": [photos[k] for k in range(7)] + ["not base64!"]}).iloc[[0, 1, 2, 7, 3, 4, 5, 6]]
    rows = _rows(model.predict(frame.reset_index(drop=True)))
    assert [r["error_kind"] for r in rows] == ["", "", "", "bad_base64", "", "", "", ""]
    assert rows[3]["error"].startswith("row 3:")
    assert all(same_answer(r, alone[k]) for r, k in zip(rows[:3] + rows[4:], range(7), strict=True))


def test_mlflow_models_serve_under_load(served: tuple[str, str, list[str], Path], tmp_path: Path) -> None:
    """The real server process (default backend), 16 concurrent HTTP clients, malformed requests mixed
    in; then a load generator killed mid-way: the server still answers and stops on SIGTERM."""
    uri, _, photos, root = served
    port = free_port()
    log_path = tmp_path / "serve.log"
    server = mlflow_serve(f"models:/{MODEL}/1", uri, port, tmp_path, log_path,
                          {"UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN": "5"})
    try:
        wait_ready(server, port, log_path)
        alone = [post_frame(port, {"image": [p]}).json()["predictions"][0] for p in photos]
        malformed = malformed_requests(root / "db_0_0.png")

        def send(job: tuple[int, Any]) -> tuple[int, Any, Any]:
            i, bad = job
            answer = post_frame(port, {"image": [photos[i]]} if bad is None else bad[0])
            return i, bad, (answer.json()["predictions"] if answer.status_code == 200
                            else f"HTTP {answer.status_code}: {answer.text[:300]}")

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(send, mixed_jobs(len(photos), malformed, seed=2)))
        failures = [r for r in results if isinstance(r[2], str)]
        assert not failures, failures[:3]
        crossed = [(i, r[2][0]) for r in results for i in [r[0]] if r[1] is None and not same_answer(r[2][0], alone[i])]
        assert not crossed, crossed[:3]
        assert all(r[2][0]["error_kind"] == r[1][1] for r in results if r[1] is not None)

        # a load generator killed mid-way (its connections drop): the server goes on answering
        load = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, str(port), photos[0], "8"])
        time.sleep(3.0)
        load.kill()
        load.wait()
        assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
        again = post_frame(port, {"image": [photos[5]]}, timeout=30).json()["predictions"][0]
        assert same_answer(again, alone[5])
    finally:
        seconds = stop(server)
    assert seconds < 10.0, f"the server took {seconds} s to stop on SIGTERM: {log_path.read_text()[-2000:]}"




def test_landmark_serve_limits_and_stop(served: tuple[str, str, list[str], Path], tmp_path: Path) -> None:
    """`landmark serve`: a body over the limit gets 413 (declared or chunked), malformed JSON 400, good
    requests their answers; SIGTERM under load stops it within seconds."""
    uri, model_uri, photos, _ = served
    port = free_port()
    log_path = tmp_path / "serve.log"
    limit = 4 * max(len(p) for p in photos[:4]) + 4096  # four photos fit, twelve do not
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "landmark"), "serve", "--model-uri", model_uri, "--port", str(port),
         "--max-body-mb", str(limit / 2**20), "--shutdown-timeout", "3"],
        env=env, cwd=tmp_path, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_ready(server, port, log_path)
        ok = post_frame(port, {"image": photos[:4]})
        assert ok.status_code == 200 and [r["error_kind"] for r in ok.json()["predictions"]] == [""] * 4
        big = post_frame(port, {"image": photos[:12]})
        assert big.status_code == 413 and "exceeds the limit" in big.json()["message"]
        body = json.dumps({"dataframe_split": {"columns": ["image"], "data": [[p] for p in photos[:12]]}}).encode()
        chunked = requests.post(f"http://127.0.0.1:{port}/invocations", data=iter([body[i:i + 8192]
                                for i in range(0, len(body), 8192)]),
                                headers={"Content-Type": "application/json"}, timeout=30)
        assert chunked.status_code == 413, chunked.text[:300]
        broken = requests.post(f"http://127.0.0.1:{port}/invocations", data=b"{not json",
                               headers={"Content-Type": "application/json"}, timeout=30)
        assert broken.status_code == 400, broken.text[:300]
        load = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, str(port), photos[0], "8"])
        time.sleep(2.0)
        seconds = stop(server)
        load.kill()
        load.wait()
    finally:
        if server.poll() is None:
            stop(server)
    assert seconds < 10.0, f"took {seconds} s to stop: {log_path.read_text()[-2000:]}"
