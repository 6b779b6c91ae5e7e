"""`landmark serve --batching` (LitServe's dynamic batching): one real server process for the module.

Answers never cross between users while requests share network batches: N distinct photos sent
alone, then the same photos x3 from 16 concurrent clients with malformed requests mixed in; every
good answer equals its alone-answer (landmark, similarity to 1e-5), and the alone-answers equal the
MLflow pyfunc's (what `landmark serve` without --batching answers). Then the limits (413, 400) and
SIGTERM under load: the server and all its processes stop within seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    post_frame,
    query_photos,
    same_answer,
    stop,
    wait_ready,
)
from tests.project_limits import SERVE_LIMITS

pytestmark = pytest.mark.integration
CLIENTS = 16
N_PHOTOS = 24
MODEL = "landmark-recognizer-batching"


@dataclass
class Served:
    server: subprocess.Popen
    port: int
    photos: list[str]  # base64
    root: Path
    log_path: Path
    model_uri: str
    tracking_uri: str


def _children(pid: int) -> list[int]:
    """Every process below pid (LitServe's HTTP server, inference worker, queue manager)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            out += [child, *_children(child)]
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serve-batching")
    index_dir, model_path = build_bundle(root, ())
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serve", artifact_location=(root / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_recognizer(index_dir, model_path, registered_model_name=MODEL, limits=SERVE_LIMITS)
    photos = [encode_image(p) for p in query_photos(root / "queries", N_PHOTOS)]
    port = free_port()
    log_path = root / "serve.log"
    limit = 4 * max(len(p) for p in photos) + 4096  # four photos fit in a body, twelve do not
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "landmark"), "serve", "--batching", "--model-uri", info.model_uri,
         "--port", str(port), "--max-body-mb", str(limit / 2**20), "--shutdown-timeout", "3",
         "--max-batch-requests", "16", "--batch-timeout-ms", "2"],
        env=dict(os.environ, MLFLOW_TRACKING_URI=uri), cwd=root, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_ready(server, port, log_path)
        yield Served(server, port, photos, root, log_path, info.model_uri, uri)
    finally:
        if server.poll() is None:
            stop(server)


def test_batched_answers_never_cross(served: Served) -> None:
    port, photos = served.port, served.photos
    alone = [post_frame(port, {"image": [p]}).json()["predictions"][0] for p in photos]
    assert all(r["error_kind"] == "" for r in alone)
    assert len({round(r["similarity"], 6) for r in alone}) > N_PHOTOS // 2  # distinct answers to tell apart

    # the same answers as the MLflow pyfunc (what `landmark serve` without --batching runs)
    mlflow.set_tracking_uri(served.tracking_uri)
    model = mlflow.pyfunc.load_model(served.model_uri)
    reference = model.predict(pd.DataFrame({"image": photos})).to_dict(orient="records")
    assert all(same_answer(a, r) and a["recognized"] == r["recognized"] for a, r in zip(alone, reference, strict=True))
    malformed = malformed_requests(served.root / "db_0_0.png")
    for bad, kind in malformed:
        expected = model.predict(pd.DataFrame(bad)).to_dict(orient="records")[0]
        got = post_frame(port, bad).json()["predictions"][0]
        assert got["error_kind"] == expected["error_kind"] == kind and got["error"] == expected["error"], got

    jobs = mixed_jobs(N_PHOTOS, malformed, seed=3)

    def send(job: tuple[int, Any]) -> tuple[int, Any, Any]:
        i, bad = job
        answer = post_frame(port, {"image": [photos[i]]} if bad is None else bad[0])
        return i, bad, (answer.json()["predictions"] if answer.status_code == 200
                        else f"HTTP {answer.status_code}: {answer.text[:300]}")

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(send, jobs))
    failures = [r for r in results if isinstance(r[2], str)]
    assert not failures, failures[:3]
    assert all(len(r[2]) == 1 for r in results)
    crossed = [(i, rows[0], alone[i]) for i, bad, rows in results if bad is None and not same_answer(rows[0], alone[i])]
    assert not crossed, crossed[:3]
    assert all(rows[0]["error_kind"] == bad[1] and rows[0]["error"].startswith("row 0:")
               for _, bad, rows in results if bad is not None)

    # 4-photo requests from concurrent clients, one bad row each: rows stay in their request and order
    def mixed(k: int) -> tuple[int, Any]:
        images = [photos[(k + j) % N_PHOTOS] for j in range(3)]
        images.insert(k % 4, "not base64!")
        answer = post_frame(port, {"image": images})
        return k, answer.json()["predictions"] if answer.status_code == 200 else answer.text[:300]

    with ThreadPoolExecutor(CLIENTS) as pool:
        for k, rows in pool.map(mixed, range(32)):
            assert isinstance(rows, list) and len(rows) == 4, rows
            bad_at = k % 4
            assert rows[bad_at]["error_kind"] == "bad_base64" and rows[bad_at]["error"].startswith(f"row {bad_at}:")
            good = rows[:bad_at] + rows[bad_at + 1:]
            assert all(same_answer(r, alone[(k + j) % N_PHOTOS]) for j, r in enumerate(good)), (k, rows)


def test_batching_server_limits(served: Served) -> None:
    """413 for a body over the limit (declared or chunked), 400 for a body that is no JSON or no MLflow
    format, too_many_photos rows past max_photos: what `landmark serve` answers."""
    port, photos = served.port, served.photos
    ok = post_frame(port, {"image": photos[:4]})
    assert ok.status_code == 200 and [r["error_kind"] for r in ok.json()["predictions"]] == [""] * 4
    big = post_frame(port, {"image": photos[:12]})
    assert big.status_code == 413 and "exceeds the limit" in big.json()["message"]
    body = json.dumps({"dataframe_split": {"columns": ["image"], "data": [[p] for p in photos[:12]]}}).encode()
    chunked = requests.post(f"http://127.0.0.1:{port}/invocations",
                            data=iter([body[i:i + 8192] for i in range(0, len(body), 8192)]),
                            headers={"Content-Type": "application/json"}, timeout=30)
    assert chunked.status_code == 413, chunked.text[:300]
    for data in (b"{not json", b"[1, 2]", json.dumps({"photos": ["x"]}).encode()):
        refused = requests.post(f"http://127.0.0.1:{port}/invocations", data=data,
                                headers={"Content-Type": "application/json"}, timeout=30)
        assert refused.status_code == 400 and refused.json()["error_code"] == "BAD_REQUEST", refused.text[:300]
    many = post_frame(port, {"image": ["x"] * (SERVE_LIMITS.max_photos + 1)})
    assert many.status_code == 200, many.text[:300]
    assert [r["error_kind"] for r in many.json()["predictions"]] == ["too_many_photos"] * (SERVE_LIMITS.max_photos + 1)
    records = requests.post(f"http://127.0.0.1:{port}/invocations",
                            json={"dataframe_records": [{"image": photos[0]}, {"image": photos[1]}]}, timeout=30)
    assert records.status_code == 200 and len(records.json()["predictions"]) == 2


def test_batching_server_that_cannot_load_its_model_exits_non_zero(served: Served, tmp_path: Path) -> None:
    """A model that is not in the registry: exit status 1 and MLflow's reason in the log, not a hang."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "landmark"), "serve", "--batching", "--model-uri", "models:/no-such-model/1",
         "--port", str(free_port())], env=dict(os.environ, MLFLOW_TRACKING_URI=served.tracking_uri), cwd=tmp_path,
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "no-such-model not found" in done.stdout + done.stderr




def test_batching_server_stops_on_sigterm_under_load(served: Served) -> None:
    """A load generator killed mid-way: the server still answers; then SIGTERM under load stops the
    server and every process it started within seconds. Runs last: it stops the module's server."""
    port, photos, server = served.port, served.photos, served.server
    expected = post_frame(port, {"image": [photos[5]]}).json()["predictions"][0]
    load = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, str(port), photos[0], "4"])
    time.sleep(2.0)
    load.kill()
    load.wait()
    assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
    assert same_answer(post_frame(port, {"image": [photos[5]]}, timeout=30).json()["predictions"][0], expected)

    children = _children(server.pid)
    assert len(children) >= 2, children  # the HTTP server and the inference worker at least
    load = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, str(port), photos[0], "4"])
    try:
        time.sleep(2.0)
        seconds = stop(server)
    finally:
        load.kill()
        load.wait()
    assert seconds < 10.0, f"took {seconds} s to stop: {served.log_path.read_text()[-2000:]}"
    deadline = time.monotonic() + 5
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [c for c in children if _alive(c)], served.log_path.read_text()[-2000:]
