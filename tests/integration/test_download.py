"""GLDv2 import against a real HTTP server on 127.0.0.1 that also serves broken, slow and non-image bodies."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from landmark.data.download import DownloadSettings
from landmark.data.gldv2 import DOWNLOAD_DIR, DownloadInterrupted, import_gldv2
from landmark.data.manifest import read_manifest
from landmark.data.quarantine import read_quarantine
from tests.project_limits import IMPORT_LIMITS

pytestmark = pytest.mark.integration

SMALL_FILES = dataclasses.replace(IMPORT_LIMITS, max_file_bytes=200_000)
SETTINGS = DownloadSettings(limits=SMALL_FILES, workers=4, retries=2, timeout=0.4, backoff=0.01)


def encode(seed: int, fmt: str, size: int = 32) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


GOOD = {f"/good/{i}.{'jpg' if i % 2 else 'png'}": encode(i, "JPEG" if i % 2 else "PNG") for i in range(6)}
FLAKY = encode(100, "JPEG")
CUT = encode(101, "JPEG", 64)[:400]  # a JPEG cut short, served with a matching Content-Length
BIG = encode(102, "PNG", 300)  # ~270 KB of noise, over the 200 KB limit


class Server:
    """A ThreadingHTTPServer on an ephemeral 127.0.0.1 port that counts hits per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def send(
                self, status: int, body: bytes, kind: str = "image/jpeg", length: int | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up first (/slow.jpg's timeout)
                    pass

            def do_GET(self) -> None:  # noqa: N802
                with owner.lock:
                    owner.hits[self.path] += 1
                    hits = owner.hits[self.path]
                if self.path.startswith("/paced"):  # a good photo that takes 0.15 s
                    time.sleep(0.15)
                    self.send(200, GOOD[self.path.removeprefix("/paced")])
                elif self.path in GOOD:
                    self.send(
                        200, GOOD[self.path], "image/png" if self.path.endswith("png") else "image/jpeg"
                    )
                elif self.path == "/flaky.jpg":
                    self.send(500, b"oops", "text/plain") if hits < 3 else self.send(200, FLAKY)
                elif self.path == "/down.jpg":
                    self.send(503, b"down", "text/plain")
                elif self.path == "/truncated.jpg":
                    body = encode(103, "JPEG", 64)
                    self.send(200, body[: len(body) // 2], length=len(body))
                elif self.path == "/cut.jpg":
                    self.send(200, CUT)
                elif self.path == "/slow.jpg":
                    time.sleep(1.5)
                    self.send(200, encode(104, "JPEG"))
                elif self.path == "/page.jpg":
                    self.send(200, b"<html><body>Not found, sorry</body></html>", "text/html")
                elif self.path == "/empty.jpg":
                    self.send(200, b"")
                elif self.path == "/big.png":
                    self.send(200, BIG, "image/png")
                else:
                    self.send(404, b"no such photo", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def good_hits(self) -> dict[str, int]:
        return {path: self.hits[path] for path in GOOD}


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("id,url,landmark_id\n" + "\n".join(rows) + "\n")
    return path


def good_rows(base: str) -> list[str]:
    return [f"g{i},{base}{p},{100 + i % 3}" for i, p in enumerate(GOOD)]


def test_every_outcome_is_imported_or_quarantined(server: Server, tmp_path: Path) -> None:
    b = server.base
    rows = good_rows(b) + [
        f"flaky,{b}/flaky.jpg,7",
        f"down,{b}/down.jpg,7",
        f"nf,{b}/missing.jpg,7",
        f"trunc,{b}/truncated.jpg,7",
        f"cut,{b}/cut.jpg,7",
        f"slow,{b}/slow.jpg,7",
        f"html,{b}/page.jpg,7",
        f"empty,{b}/empty.jpg,7",
        f"big,{b}/big.png,7",
        "nourl,,7",
        "ftp,ftp://127.0.0.1/x.jpg,7",
        f"nolabel,{b}/good/0.png,",
        "bad,row",
        f"g0,{b}/good/0.png,100",  # the same row again: a duplicate
    ]
    csv_path = write_csv(tmp_path / "train.csv", rows)
    root = tmp_path / "data"
    start = time.monotonic()
    summary = import_gldv2(csv_path, root, mode="replace", settings=SETTINGS, progress=False)
    elapsed = time.monotonic() - start
    assert elapsed < 10
    assert (summary.rows_in, summary.imported, summary.skipped_duplicates) == (20, 7, 1)
    assert summary.rows_in == summary.imported + summary.skipped_duplicates + summary.quarantined
    assert summary.by_reason == {
        "http error": 2,
        "truncated body": 1,
        "not_an_image": 1,
        "truncated": 1,
        "timeout": 1,
        "empty body": 1,
        "too_large_file": 1,
        "empty url": 1,
        "unsupported url": 1,
        "empty landmark": 1,
        "malformed row": 1,
    }
    reasons = {e.image_id: (e.reason, e.detail) for e in read_quarantine(summary.quarantine_path)}
    assert "HTTP 404" in reasons["nf"][1] and "HTTP 503" in reasons["down"][1]
    assert "text/html" in reasons["html"][1]
    assert reasons["cut"][0] == "truncated"
    # retries: 5xx/timeouts/truncation are retried (1 + 2), a 404 and non-image bodies are not
    assert server.hits["/flaky.jpg"] == 3 and server.hits["/down.jpg"] == 3
    assert server.hits["/slow.jpg"] == 3 and server.hits["/truncated.jpg"] == 3
    assert (
        server.hits["/missing.jpg"] == 1 and server.hits["/page.jpg"] == 1 and server.hits["/empty.jpg"] == 1
    )
    manifest = read_manifest(root / "manifest.csv").set_index("image_id")
    assert sorted(manifest.index) == sorted([f"g{i}" for i in range(6)] + ["flaky"])
    assert manifest.loc["flaky", "sha256"] == hashlib.sha256(FLAKY).hexdigest()
    for i, path in enumerate(GOOD):
        assert manifest.loc[f"g{i}", "sha256"] == hashlib.sha256(GOOD[path]).hexdigest()
        assert (root / manifest.loc[f"g{i}", "path"]).read_bytes() == GOOD[path]
        assert manifest.loc[f"g{i}", "landmark"] == str(100 + i % 3)
        assert manifest.loc[f"g{i}", "url"] == b + path
    assert manifest.loc["g1", "path"].endswith(".jpg") and manifest.loc["g0", "path"].endswith(".png")
    assert not list((root / DOWNLOAD_DIR).glob("*.part"))


def test_interrupted_download_resumes_without_refetching(server: Server, tmp_path: Path) -> None:
    csv_path = write_csv(
        tmp_path / "train.csv", good_rows(server.base) + [f"flaky,{server.base}/flaky.jpg,7"]
    )
    root = tmp_path / "data"
    one_worker = DownloadSettings(limits=IMPORT_LIMITS, workers=1, retries=2, timeout=0.4, backoff=0.01)
    with pytest.raises(DownloadInterrupted) as info:
        import_gldv2(csv_path, root, settings=one_worker, max_items=3, progress=False)
    assert info.value.report.fetched == 3
    assert not (root / "manifest.csv").exists()
    assert sum(server.good_hits().values()) == 3
    journal = (root / DOWNLOAD_DIR / "journal.jsonl").read_text().splitlines()
    assert len(journal) == 3
    # damage one finished file: its checksum no longer matches, so it is fetched again
    cached = sorted((root / DOWNLOAD_DIR).glob("g*.*"))
    assert len(cached) == 3
    cached[0].write_bytes(b"garbage")
    summary = import_gldv2(csv_path, root, settings=SETTINGS, progress=False)
    assert summary.imported == 7 and summary.quarantined == 0
    hits = server.good_hits()
    damaged = next(p for p in GOOD if Path(p).stem == cached[0].stem.removeprefix("g"))
    assert hits[damaged] == 2
    assert all(count == 1 for path, count in hits.items() if path != damaged)
    manifest = read_manifest(root / "manifest.csv")
    assert len(manifest) == 7
    for item in manifest.itertuples():
        assert hashlib.sha256((root / item.path).read_bytes()).hexdigest() == item.sha256
    # a third run after the cache was cleared reuses the data root's verified copies: no request at all
    before = sum(server.hits.values())
    again = import_gldv2(csv_path, root, settings=SETTINGS, progress=False)
    assert (again.imported, again.skipped_duplicates) == (0, 7)
    assert sum(server.hits.values()) == before


def test_cancel_event_stops_the_download(server: Server, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "train.csv", good_rows(server.base))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadInterrupted) as info:
        import_gldv2(csv_path, tmp_path / "data", settings=SETTINGS, cancel=cancel, progress=False)
    assert info.value.report.fetched == 0 and sum(server.hits.values()) == 0


CHILD = """
import sys
from pathlib import Path
from landmark.data.download import DownloadSettings
from landmark.data.gldv2 import import_gldv2
from tests.project_limits import IMPORT_LIMITS
settings = DownloadSettings(limits=IMPORT_LIMITS, workers=1, retries=0, timeout=1.0)
import_gldv2(Path(sys.argv[1]), Path(sys.argv[2]), settings=settings, progress=False)
"""


def test_killed_process_resumes(server: Server, tmp_path: Path) -> None:
    rows = [f"p{i},{server.base}/paced{p},5" for i, p in enumerate(GOOD)]
    csv_path = write_csv(tmp_path / "train.csv", rows)
    root = tmp_path / "data"
    journal = root / DOWNLOAD_DIR / "journal.jsonl"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(csv_path), str(root)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and child.poll() is None:
            if journal.is_file() and len(journal.read_text().splitlines()) >= 2:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the download finished before it could be killed"
        child.kill()
    finally:
        child.wait(timeout=30)
    lines = journal.read_text().splitlines()
    done = len(lines)
    journaled = {json.loads(line)["url"].removeprefix(server.base) for line in lines}
    assert 2 <= done < len(GOOD)
    assert not (root / "manifest.csv").exists()
    fetched_before = {p: n for p, n in server.hits.items()}
    summary = import_gldv2(csv_path, root, settings=SETTINGS, progress=False)
    assert summary.imported == len(GOOD) and summary.quarantined == 0
    # every download finished before the kill is not fetched again; only one in flight may be
    assert len(journaled) == done and all(fetched_before[p] == server.hits[p] == 1 for p in journaled)
    assert sum(server.hits.values()) <= len(GOOD) + 1
