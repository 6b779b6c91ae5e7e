"""A small recognizer bundle for serving tests: the real ImageNet lite0 at 64 px (no training), a flat
index over two drawn landmarks, a threshold from noise photos, and the checked ov-bf16 / int8
variants, so every backend can be served. Plus query photos: real ones from ../shared when present
(distinct photos give distinct answers, which is what a crossed answer would show), else drawn ones.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image, ImageDraw

from landmark.models.checkpoint import save_embedder
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed
from landmark.models.onnx_embedder import check_variant
from landmark.params import load_params
from landmark.retrieval.build import build_index
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.threshold import calibrate

REPO = Path(__file__).resolve().parents[2]
REAL = Path(os.environ.get("LANDMARK_REAL_DATA", REPO.parent / "shared" / "data" / "real-landmarks"))
READY_SECONDS = 120


def drawn_photo(path: Path, kind: int, seed: int) -> Path:
    """A 64 px photo: kind 0 a tall bright bar ("tower"), 1 a red disc ("dome"), 2 noise (no landmark)."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (64, 64), tuple(int(v) for v in rng.integers(0, 60, 3)))
    draw = ImageDraw.Draw(image)
    jitter = int(rng.integers(-3, 4))
    if kind == 0:
        draw.rectangle([26 + jitter, 6, 38 + jitter, 60], fill=(230, 200, 40))
    elif kind == 1:
        draw.ellipse([12 + jitter, 12, 52 + jitter, 52], fill=(200, 30, 30))
    else:
        image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    image.save(path)
    return path


def build_bundle(root: Path, variants: tuple[str, ...] = ("ov-bf16",)) -> tuple[Path, Path]:
    """Write model.pt (+ the checked `variants`) and index/ under root; returns (index_dir, model_path)."""
    params = load_params(REPO / "params.yaml")
    backbone = dataclasses.replace(params.backbone, embed_dim=0, image_size=64)
    model = create_embedder(backbone)
    save_embedder(model, root / "model.pt")
    db = [drawn_photo(root / f"db_{k}_{i}.png", k, 10 * k + i) for k in (0, 1) for i in range(4)]
    neg = [drawn_photo(root / f"neg_{i}.png", 2, 100 + i) for i in range(10)]
    labels = np.array(["tower"] * 4 + ["dome"] * 4, dtype=object)
    index = build_index(embed(model, db, preprocessing="timm", batch_size=32, workers=1), labels, params.index)
    sims, _ = index.search(embed(model, neg, preprocessing="timm", batch_size=32, workers=1), 1)
    Recognizer(model, index, calibrate(sims[:, 0], 0.1, (0.1,))).save(root / "index")
    for variant in variants:  # checks travel with the logged model; max_drop 1: always usable
        assert check_variant(root / "model.pt", variant, db, list(labels), max_drop=1.0)["passed"]
    return root / "index", root / "model.pt"


def query_photos(root: Path, n: int) -> list[Path]:
    """n distinct photos: real ones (every 1500 / n-th of ../shared's) when present, else drawn."""
    real = sorted((REAL / "images").glob("*.png"))
    if len(real) >= n:
        return real[:: len(real) // n][:n]
    root.mkdir(parents=True, exist_ok=True)
    return [drawn_photo(root / f"q_{i}.png", i % 3, 1000 + i) for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(server: subprocess.Popen, port: int, log_path: Path) -> None:
    """Until GET /ping answers 200; raises with the server's log when it exits or takes too long."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited ({server.returncode}): {log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready within {READY_SECONDS} s: {log_path.read_text()[-3000:]}")


def mlflow_serve(model_uri: str, tracking_uri: str, port: int, cwd: Path, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """`mlflow models serve` of model_uri on 127.0.0.1:port (one worker, the local environment)."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **(extra_env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
        env=env, cwd=cwd, stdout=log_path.open("w"), stderr=subprocess.STDOUT, text=True)


def stop(server: subprocess.Popen, seconds: float = 20.0) -> float:
    """SIGTERM, wait up to `seconds` (then SIGKILL); returns the seconds it took to exit, or inf."""
    start = time.monotonic()
    server.terminate()
    try:
        server.wait(timeout=seconds)
        return time.monotonic() - start
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        return float("inf")


def post_frame(port: int, frame: dict[str, list[Any]], timeout: float = 60) -> requests.Response:
    """POST columns -> rows as MLflow's dataframe_split JSON to a served model on 127.0.0.1:port."""
    data = [list(row) for row in zip(*frame.values(), strict=True)]
    return requests.post(f"http://127.0.0.1:{port}/invocations",
                         json={"dataframe_split": {"columns": list(frame), "data": data}}, timeout=timeout)


def same_answer(got: dict[str, Any], alone: dict[str, Any]) -> bool:
    """A served answer equals the one the photo got alone: landmark, and similarity within 1e-5."""
    return got["landmark"] == alone["landmark"] and abs(got["similarity"] - alone["similarity"]) <= 1e-5


def malformed_requests(photo: Path) -> list[tuple[dict[str, list[Any]], str]]:
    """Single-row requests that must each come back as one error row of the given kind."""
    raw = photo.read_bytes()
    b64 = base64.b64encode
    return [
        ({"image": ["this is not base64!"]}, "bad_base64"),
        ({"image": [""]}, "empty"),
        ({"image": [b64(b"hello, not a photo").decode()]}, "not_an_image"),
        ({"image": [b64(raw[: len(raw) // 2]).decode()]}, "truncated"),
        ({"lat": [48.85], "lon": [2.35]}, "missing_column"),
        ({"image": [b64(raw).decode()], "lat": [123.0], "lon": [2.0]}, "bad_location"),
    ]


def mixed_jobs(n_photos: int, malformed: list[tuple[dict[str, list[Any]], str]], seed: int) -> list[tuple[int, Any]]:
    """The photos x3 as single-photo jobs (index, None) in a shuffled order, with a malformed job
    (-1, (request, kind)) after every 9 good ones."""
    order = [i for i in range(n_photos) for _ in range(3)]
    random.Random(seed).shuffle(order)
    jobs: list[tuple[int, Any]] = []
    for n, i in enumerate(order):
        jobs.append((i, None))
        if n % 9 == 8:
            jobs.append((-1, malformed[(n // 9) % len(malformed)]))
    return jobs


# A load generator for shutdown tests, run as `python -c LOAD_SCRIPT <port> <base64 photo> <photos per
# request>`: 16 threads posting the photo until killed (errors ignored: the server is meant to stop).
LOAD_SCRIPT = """
import sys, threading, requests
port, photo, per_request = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = {"dataframe_split": {"columns": ["image"], "data": [[photo]] * per_request}}
def loop():
    for _ in range(1000):
        try:
            requests.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=30)
        except requests.RequestException:
            pass
threads = [threading.Thread(target=loop, daemon=True) for _ in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
"""
