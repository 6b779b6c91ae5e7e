"""The served recognizer under load: `landmark serve` (MLflow's scoring app under uvicorn) and
`landmark serve --batching` (LitServe's dynamic batching) on 127.0.0.1, 10% malformed requests mixed
in (bad base64, empty, not an image, truncated, missing column).

Levels: single-photo requests from 1, 4 and 16 clients, and 8-photo requests from 16 clients
(`landmark serve`); single-photo requests from 1, 4 and 16 clients (`--batching`).
Per level: good photos answered per second, p50 / p95 / p99 latency of good requests, errors on good
requests, crossed answers (an answer that differs from the one the same photo got alone, sequentially,
from the same server: landmark, or similarity by more than 1e-5), malformed requests answered with
the right error_kind, the server's peak RSS, and CPU seconds per photo: the server's processes (all
of them), the load generator (this process), and the baseline's; baseline CPU / (server + client CPU)
is the ratio this machine could reach at most when the load generator shares its cores (`ceiling`).
Batching answers are also checked against `landmark serve`'s. Baseline, same run: the batch throughput of
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
BATCHING_LEVELS = ((1, 1), (4, 1), (16, 1))
SERVERS = {"landmark serve": [], "landmark serve --batching": ["--batching"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _malformed(raw: bytes) -> list[tuple[dict[str, list[Any]], str]]:
    b64 = base64.b64encode
    return [({"image": ["not base64!"]}, "bad_base64"), ({"image": [""]}, "empty"),
            ({"image": [b64(b"not a photo").decode()]}, "not_an_image"),
            ({"image": [b64(raw[: len(raw) // 2]).decode()]}, "truncated"), ({"lat": [1.0]}, "missing_column")]


def _tree(pid: int) -> list[int]:
    """pid and every process below it (the batching server runs an HTTP server, a worker, a manager)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [p for child in (task / "children").read_text().split() for p in _tree(int(child))]
        except OSError:
            continue
    return out


def _peak_rss_mib(pid: int) -> float:
    """The largest peak RSS among the server's processes."""
    peaks = []
    for p in _tree(pid):
        try:
            peaks += [int(line.split()[1]) / 1024 for line in Path(f"/proc/{p}/status").read_text().splitlines()
                      if line.startswith("VmHWM:")]
        except OSError:
            continue
    return max(peaks, default=float("nan"))


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes used so far."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


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
           clients: int, per_request: int, server_pids: list[int]) -> dict[str, Any]:
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

    start, client_cpu, server_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(server_pids)
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(run, jobs))
    wall = time.perf_counter() - start
    client_cpu, server_cpu = time.process_time() - client_cpu, _cpu_seconds(server_pids) - server_cpu
    good = [r for r in results if r[1] is None]
    latencies = np.array([r[2] for r in good]) * 1e3
    errors = sum(r[3] != 200 for r in good)
    crossed = sum(1 for r in good if r[3] == 200 for i, got in zip(r[0], r[4]["predictions"], strict=True)
                  if got["landmark"] != alone[i]["landmark"] or abs(got["similarity"] - alone[i]["similarity"]) > 1e-5)
    bad_ok = sum(1 for r in results if r[1] is not None and r[3] == 200
                 and r[4]["predictions"][0]["error_kind"] == r[1][1])
    return {"rate": len(order) / wall, "p50": float(np.percentile(latencies, 50)),
            "p95": float(np.percentile(latencies, 95)), "p99": float(np.percentile(latencies, 99)),
            "errors": errors, "crossed": crossed, "malformed": f"{bad_ok}/{len(results) - len(good)} answered right",
            "client_ms": client_cpu / len(order) * 1e3, "server_ms": server_cpu / len(order) * 1e3}


def _wait_ready(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("landmark serve did not start")
        time.sleep(0.5)


def _serve(folder: Path, uri: str, model_uri: str, extra: list[str], photos: list[str], bad: list[tuple[dict, str]],
           levels: tuple[tuple[int, int], ...]) -> tuple[list[dict[str, Any]], dict[tuple[int, int], dict], float]:
    """Start `landmark serve <extra>`, answer every photo alone, run the levels: (alone, levels, peak RSS)."""
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "landmark"), "serve", "--model-uri", model_uri,
                               "--port", str(port), *extra], cwd=folder, env={**os.environ, "MLFLOW_TRACKING_URI": uri},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(server, port)
        client = _Client(port)
        client.post({"image": photos[:4]})  # warm-up
        alone = [client.post({"image": [p]})[2]["predictions"][0] for p in photos]
        pids = _tree(server.pid)
        measured = {(n, k): _level(client, photos, alone, bad, n, k, pids) for n, k in levels}
        return alone, measured, _peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


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
        batch_rates, batch_cpu = [], []
        for _ in range(3):
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(REPEATS):
                recognizer.recognize(paths)
            batch_rates.append(REPEATS * len(paths) / (time.perf_counter() - start))
            batch_cpu.append((time.process_time() - cpu) / (REPEATS * len(paths)) * 1e3)
        batch_rate, batch_ms, backend = float(np.median(batch_rates)), float(np.median(batch_cpu)), recognizer.backend
        del recognizer

        bad = _malformed(paths[0].read_bytes())
        served = {name: _serve(folder, uri, model_uri, extra, photos, bad,
                               BATCHING_LEVELS if extra else LEVELS) for name, extra in SERVERS.items()}
    reference = served["landmark serve"][0]
    rows = []
    for name, (alone, levels, rss) in served.items():
        differ = sum(a["landmark"] != r["landmark"] or abs(a["similarity"] - r["similarity"]) > 1e-5
                     for a, r in zip(alone, reference, strict=True))
        for (n, k), m in levels.items():
            ceiling = batch_ms / (m["server_ms"] + m["client_ms"])
            rows.append({
                "figure": f"served photos/s, {name}, {n} client(s), {k}-photo requests + 10% malformed, "
                          "vs batch recognize",
                "project": round(m["rate"], 1), "baseline": round(batch_rate, 1),
                "ratio": round(m["rate"] / batch_rate, 2),
                "note": (f"p50/p95/p99 {m['p50']:.0f}/{m['p95']:.0f}/{m['p99']:.0f} ms per request; errors on good "
                         f"requests {m['errors']}; crossed answers {m['crossed']}; malformed {m['malformed']}; "
                         f"alone-answers differing from landmark serve's {differ}; CPU ms/photo: server "
                         f"{m['server_ms']:.2f}, client {m['client_ms']:.2f}, batch recognize {batch_ms:.2f} "
                         f"(ceiling {ceiling:.2f}); backend {backend}; server peak RSS {rss:.0f} MiB"),
            })
    print(table(rows))
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
