"""The served recognizer under load: `landmark serve` (MLflow's scoring app under uvicorn) on
127.0.0.1, single-photo requests from 1, 4 and 16 concurrent clients, 10% malformed requests mixed
in (bad base64, empty, not an image, truncated, missing column).

Levels: single-photo requests from 1, 4 and 16 clients, and 8-photo requests from 16 clients.
Per level: good photos answered per second, p50 / p95 / p99 latency of good requests, errors on good
requests, crossed answers (an answer that differs from the one the same photo got alone, sequentially,
from the same server: landmark, or similarity by more than 1e-5), malformed requests answered with
the right error_kind, and the server's peak RSS. Baseline, same run: the batch throughput of
`landmark recognize` (Recognizer.recognize on batches, in this process, same network backend).
Target (issue 12): no error on good requests, no crossed answer, 16 clients >= 0.8x the batch rate.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import requests

from bench.runner import table
from bench.served_model import build_bundle, log_bundle, real_photos

log = logging.getLogger(__name__)
N_PHOTOS, REPEATS = 64, 3
LEVELS = ((1, 1), (4, 1), (16, 1), (16, 8))  # (concurrent clients, photos per request)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _malformed(raw: bytes) -> list[tuple[dict[str, list[Any]], str]]:
    b64 = base64.b64encode
    return [({"image": ["not base64!"]}, "bad_base64"), ({"image": [""]}, "empty"),
            ({"image": [b64(b"not a photo").decode()]}, "not_an_image"),
            ({"image": [b64(raw[: len(raw) // 2]).decode()]}, "truncated"), ({"lat": [1.0]}, "missing_column")]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Client:
    """One requests.Session per client thread, posting MLflow's dataframe_split JSON."""

    def __init__(self, port: int) -> None:
        self.url, self._local = f"http://127.0.0.1:{port}/invocations", threading.local()

    def post(self, frame: dict[str, list[Any]]) -> tuple[float, int, Any]:
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        rows = [list(r) for r in zip(*frame.values(), strict=True)]
        body = {"dataframe_split": {"columns": list(frame), "data": rows}}
        start = time.perf_counter()
        answer = session.post(self.url, json=body, timeout=120)
        seconds = time.perf_counter() - start
        return seconds, answer.status_code, answer.json() if answer.status_code == 200 else answer.text[:200]


def _level(client: _Client, photos: list[str], alone: list[dict[str, Any]], bad: list[tuple[dict, str]],
           clients: int, per_request: int) -> dict[str, Any]:
    order = [i for i in range(len(photos)) for _ in range(REPEATS)]
    np.random.default_rng(clients).shuffle(order)
    jobs: list[tuple[list[int], Any]] = []
    for n in range(0, len(order), per_request):
        jobs.append((order[n : n + per_request], None))
        if len(jobs) % 10 == 9:
            jobs.append(([], bad[len(jobs) // 10 % len(bad)]))

    def run(job: tuple[list[int], Any]) -> tuple[list[int], Any, float, int, Any]:
        rows, wrong = job
        return (rows, wrong, *client.post({"image": [photos[i] for i in rows]} if wrong is None else wrong[0]))

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(run, jobs))
    wall = time.perf_counter() - start
    good = [r for r in results if r[1] is None]
    latencies = np.array([r[2] for r in good]) * 1e3
    errors = sum(r[3] != 200 for r in good)
    crossed = sum(1 for r in good if r[3] == 200 for i, got in zip(r[0], r[4]["predictions"], strict=True)
                  if got["landmark"] != alone[i]["landmark"] or abs(got["similarity"] - alone[i]["similarity"]) > 1e-5)
    bad_ok = sum(1 for r in results if r[1] is not None and r[3] == 200
                 and r[4]["predictions"][0]["error_kind"] == r[1][1])
    return {"rate": len(order) / wall, "p50": float(np.percentile(latencies, 50)),
            "p95": float(np.percentile(latencies, 95)), "p99": float(np.percentile(latencies, 99)),
            "errors": errors, "crossed": crossed, "malformed": f"{bad_ok}/{len(results) - len(good)} answered right"}


def main() -> list[dict]:
    from landmark.registry.pyfunc import encode_image
    from landmark.retrieval.recognizer import Recognizer

    paths = real_photos(N_PHOTOS)
    photos = [encode_image(p) for p in paths]
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        folder = Path(tmp)
        index_dir, model_path = build_bundle(folder)
        uri, model_uri = log_bundle(folder, index_dir, model_path)
        recognizer = Recognizer.load(index_dir, model_path)
        recognizer.recognize(paths[:32])  # warm-up
        batch_rates = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(REPEATS):
                recognizer.recognize(paths)
            batch_rates.append(REPEATS * len(paths) / (time.perf_counter() - start))
        batch_rate, backend = float(np.median(batch_rates)), recognizer.backend
        del recognizer

        port = _free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "landmark"), "serve", "--model-uri", model_uri,
                                   "--port", str(port)], cwd=folder, env={**os.environ, "MLFLOW_TRACKING_URI": uri},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("landmark serve did not start")
                time.sleep(0.5)
            client = _Client(port)
            client.post({"image": photos[:4]})  # warm-up
            alone = [client.post({"image": [p]})[2]["predictions"][0] for p in photos]
            bad = _malformed(paths[0].read_bytes())
            levels = {(n, k): _level(client, photos, alone, bad, n, k) for n, k in LEVELS}
            rss = _peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows = []
    for (n, k), m in levels.items():
        rows.append({
            "figure": f"served photos/s, {n} client(s), {k}-photo requests + 10% malformed, vs batch recognize",
            "project": round(m["rate"], 1), "baseline": round(batch_rate, 1), "ratio": round(m["rate"] / batch_rate, 2),
            "note": (f"p50/p95/p99 {m['p50']:.0f}/{m['p95']:.0f}/{m['p99']:.0f} ms per request; errors on good "
                     f"requests {m['errors']}; crossed answers {m['crossed']}; malformed {m['malformed']}; "
                     f"backend {backend}; server peak RSS {rss:.0f} MiB"),
        })
    print(table(rows))
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
