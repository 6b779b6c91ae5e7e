"""The recognizer pyfunc: logged to a temporary sqlite store, served with `mlflow models serve` on
127.0.0.1, a photo POSTed over HTTP and recognised. Real timm, faiss and MLflow; no mocks."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw

from landmark.models.checkpoint import save_embedder
from landmark.models.embedder import create_embedder
from landmark.models.extract import embed_paths
from landmark.models.onnx_embedder import check_variant
from landmark.params import load_params
from landmark.registry.pyfunc import encode_image, log_recognizer
from landmark.retrieval.build import build_index
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.threshold import calibrate
from tests.integration.tiny_project import REPO

pytestmark = pytest.mark.integration
READY_SECONDS = 120


def _photo(path: Path, kind: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (64, 64), tuple(int(v) for v in rng.integers(0, 60, 3)))
    draw = ImageDraw.Draw(image)
    jitter = int(rng.integers(-3, 4))
    if kind == 0:  # "tower": a tall bright bar
        draw.rectangle([26 + jitter, 6, 38 + jitter, 60], fill=(230, 200, 40))
    elif kind == 1:  # "dome": a red disc
        draw.ellipse([12 + jitter, 12, 52 + jitter, 52], fill=(200, 30, 30))
    else:  # noise, no landmark
        image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    image.save(path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("pyfunc")
    params = load_params(REPO / "params.yaml")
    backbone = dataclasses.replace(params.backbone, embed_dim=0, image_size=64)
    model = create_embedder(backbone)
    save_embedder(model, root / "model.pt")
    db = [_photo(root / f"db_{k}_{i}.png", k, 10 * k + i) for k in (0, 1) for i in range(4)]
    neg = [_photo(root / f"neg_{i}.png", 2, 100 + i) for i in range(10)]
    labels = np.array(["tower"] * 4 + ["dome"] * 4, dtype=object)
    index = build_index(embed_paths(model, db), labels, params.index)
    sims, _ = index.search(embed_paths(model, neg), 1)
    Recognizer(model, index, calibrate(sims[:, 0], 0.1, (0.1,))).save(root / "index")
    # the bf16 variant's check travels with the logged model, so the served model runs on it
    record = check_variant(root / "model.pt", "ov-bf16", db, list(labels), max_drop=1.0)
    assert record["passed"]
    query = _photo(root / "query_tower.png", 0, 999)
    return root / "index", root / "model.pt", query


def test_pyfunc_log_load_and_serve(bundle: tuple[Path, Path, Path], tmp_path: Path) -> None:
    index_dir, model_path, query = bundle
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_recognizer(index_dir, model_path, registered_model_name="landmark-recognizer-test")
    assert info.signature is not None and "image" in info.signature.inputs.input_names()
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert loaded.unwrap_python_model().recognizer.backend == "ov-bf16"
    local = loaded.predict(__import__("pandas").DataFrame({"image": [encode_image(query)]}))
    assert local["landmark"].tolist() == ["tower"]

    port = _free_port()
    env = dict(
        os.environ,
        MLFLOW_TRACKING_URI=uri,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )  # uvicorn
    log_file = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            "models:/landmark-recognizer-test/1",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert server.poll() is None, f"server exited: {(tmp_path / 'serve.log').read_text()[-2000:]}"
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            pytest.fail(f"mlflow models serve not ready within {READY_SECONDS} s")
        payload = {
            "dataframe_split": {
                "columns": ["image", "lat", "lon"],
                "data": [
                    [encode_image(query), 41.89, 12.49],
                    [encode_image(index_dir.parent / "neg_0.png"), None, None],
                ],
            }
        }
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
        assert answer.status_code == 200, answer.text[:1000]
        rows = answer.json()["predictions"]
        assert rows[0]["landmark"] == "tower" and rows[0]["recognized"] and rows[0]["confidence"] > 0.5
        assert (
            rows[1]["landmark"] == "" and not rows[1]["recognized"] and rows[1]["confidence"] <= 0.5
        )  # a calibration photo: rejected
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log_file.close()
