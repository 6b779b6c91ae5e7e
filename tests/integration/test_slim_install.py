"""The serving install (`pip install .`, no extras: no torch, timm, prefect, dvc, great-expectations)
runs `landmark recognize`, `landmark albums` and `landmark serve` (also `--batching`) on an exported
checkpoint.

A real virtual environment is built from the package registries (pip's cache makes it about a
minute); the test skips, saying why, only when pip cannot reach a registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import requests

from landmark.registry.pyfunc import encode_image, log_recognizer
from tests.integration.served_bundle import REPO, build_bundle, free_port, stop, wait_ready
from tests.project_limits import SERVE_LIMITS

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PIP_OFFLINE_SIGNS = ("Could not find a version", "No matching distribution", "Failed to establish a new connection",
                     "Temporary failure in name resolution")


@pytest.fixture(scope="module")
def slim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv with the project installed without extras."""
    root = tmp_path_factory.mktemp("slim")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore"}
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], capture_output=True, text=True,
                          env=env, timeout=900)
    if done.returncode != 0:
        if any(sign in done.stderr for sign in PIP_OFFLINE_SIGNS):
            pytest.skip(f"pip could not reach a package registry to build the serving install: {done.stderr[-500:]}")
        raise AssertionError(f"pip install of the serving install failed: {done.stderr[-3000:]}")
    for heavy in ("torch", "timm", "prefect", "dvc", "great_expectations"):
        probe = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {heavy}"], capture_output=True)
        assert probe.returncode != 0, f"{heavy} is installed in the serving install"
    return venv / "bin"


def test_recognize_albums_and_serve_in_the_serving_install(slim: Path, tmp_path: Path) -> None:
    index_dir, model_path = build_bundle(tmp_path / "bundle")
    photo = index_dir.parent / "db_0_1.png"
    env = {**os.environ, "PYTHONPATH": ""}  # the installed package, not this checkout
    args = ["--index", str(index_dir), "--model", str(model_path)]
    start = time.perf_counter()
    done = subprocess.run([str(slim / "landmark"), "recognize", str(photo), *args, "--json"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)[0]["landmark"] == "tower", done.stdout
    print(f"serving install: landmark recognize one photo in {seconds:.2f} s")

    albums = tmp_path / "albums"
    done = subprocess.run([str(slim / "landmark"), "albums", str(index_dir.parent), *args, "--out", str(albums)],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (albums / "albums.json").is_file() and (albums / "albums.html").is_file()

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("slim", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_recognizer(index_dir, model_path, limits=SERVE_LIMITS)
    for batching in ([], ["--batching"]):  # MLflow's scoring app, then LitServe's batching server
        port = free_port()
        log_path = tmp_path / f"serve{'-'.join(batching)}.log"
        server = subprocess.Popen([str(slim / "landmark"), "serve", "--model-uri", info.model_uri, "--port", str(port),
                                   *batching], cwd=tmp_path, env={**env, "MLFLOW_TRACKING_URI": uri},
                                  stdout=log_path.open("w"), stderr=subprocess.STDOUT)
        try:
            wait_ready(server, port, log_path)
            body = {"dataframe_split": {"columns": ["image"], "data": [[encode_image(photo)], ["not base64!"]]}}
            answer = requests.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=60)
            assert answer.status_code == 200, answer.text[:500]
            rows = answer.json()["predictions"]
            assert rows[0]["landmark"] == "tower" and rows[1]["error_kind"] == "bad_base64", (batching, rows)
        finally:
            stop(server)
