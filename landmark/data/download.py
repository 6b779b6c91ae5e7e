"""Parallel, resumable photo download with retries, checksums and a reason for every failure.

Each job (row, image_id, url) is fetched by a ThreadPoolExecutor worker with its own
`requests.Session`: a per-request timeout, retries with exponential backoff on connection errors,
timeouts, truncated bodies, 5xx, 408 and 429 (never on another 4xx), a size limit, and a check that
the body's header is a photo's (`read_header`; the import's photo check decodes it, once).
Finished files land in a cache folder next to an append-only journal (`journal.jsonl`: id, url,
sha256, file); a rerun skips every id whose journal entry still matches its file's sha256, so an
interrupted download resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import requests
from tqdm import tqdm

from landmark.data.download_journal import JOURNAL_NAME, Journal
from landmark.data.images import ImageDecodeError, read_header
from landmark.data.ingest import (
    R_TOO_LARGE,
)
from landmark.data.photo_check import FORMAT_SUFFIX, PhotoLimits
from landmark.hashing import file_sha256

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
R_HTTP = "http error"
R_TIMEOUT = "timeout"
R_CONNECTION = "connection error"
R_TRUNCATED = "truncated body"
R_EMPTY_BODY = "empty body"
R_INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class DownloadJob:
    row: int
    image_id: str
    url: str


@dataclass(frozen=True)
class DownloadSettings:
    """workers: parallel fetches; retries: extra attempts after the first; timeout: seconds per connect
    and per read; backoff: the first retry waits backoff s, then 2x, 4x, ..."""

    limits: PhotoLimits
    workers: int = 8
    retries: int = 3
    timeout: float = 10.0
    backoff: float = 0.5
    user_agent: str = "landmark-import/0.1"


@dataclass(frozen=True)
class DownloadOutcome:
    """file/sha256 set on success; reason/detail set on failure. attempts: HTTP requests made (0 = cached)."""

    job: DownloadJob
    file: Path | None = None
    sha256: str = ""
    reason: str = ""
    detail: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.file is not None


@dataclass
class DownloadReport:
    outcomes: list[DownloadOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def fetched(self) -> int:
        return sum(1 for o in self.outcomes if o.ok and o.attempts > 0)

    @property
    def from_cache(self) -> int:
        return sum(1 for o in self.outcomes if o.ok and o.attempts == 0)


class _Retry(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class _Fail(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _stream_to(response: requests.Response, part: Path, max_bytes: int) -> tuple[str, int]:
    """Write the body to `part`; return (sha256 hex, bytes). Raises _Fail / _Retry / requests errors."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _Fail(R_TOO_LARGE, f"Content-Length {declared} > limit {max_bytes}")
    digest, size = hashlib.sha256(), 0
    with part.open("wb") as handle:
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise _Fail(R_TOO_LARGE, f"body exceeds limit {max_bytes} bytes")
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest(), size


def _attempt(
    job: DownloadJob, session: requests.Session, cache_dir: Path, settings: DownloadSettings
) -> tuple[Path, str]:
    """One HTTP request: the verified file in the cache and its sha256, or _Fail / _Retry."""
    part = cache_dir / f"{job.image_id}.part"
    try:
        with session.get(job.url, stream=True, timeout=(settings.timeout, settings.timeout)) as response:
            if response.status_code in RETRY_STATUS:
                raise _Retry(R_HTTP, f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise _Fail(R_HTTP, f"HTTP {response.status_code}")
            kind = response.headers.get("Content-Type", "?")
            sha, size = _stream_to(response, part, settings.limits.max_file_bytes)
        if size == 0:
            raise _Fail(R_EMPTY_BODY, f"HTTP 200 with an empty body ({kind})")
        try:  # the header only: the import's photo check decodes the photo (once) afterwards
            suffix = FORMAT_SUFFIX.get(read_header(part).format, ".img")
        except ImageDecodeError as exc:
            raise _Fail(exc.kind, f"{size} bytes of {kind}: {exc}") from exc
        final = cache_dir / f"{job.image_id}{suffix}"
        os.replace(part, final)
        return final, sha
    except requests.exceptions.Timeout as exc:
        raise _Retry(R_TIMEOUT, str(exc)) from exc
    except requests.exceptions.ChunkedEncodingError as exc:
        raise _Retry(R_TRUNCATED, str(exc)) from exc
    except requests.exceptions.ConnectionError as exc:
        reason = R_TIMEOUT if "timed out" in str(exc).lower() else R_CONNECTION
        raise _Retry(reason, str(exc)) from exc
    finally:
        part.unlink(missing_ok=True)


def fetch(
    job: DownloadJob,
    session: requests.Session,
    cache_dir: Path,
    settings: DownloadSettings,
    stop: threading.Event | None = None,
) -> DownloadOutcome:
    """Fetch one job with retries and exponential backoff; every failure comes back with its reason."""
    last = _Retry(R_CONNECTION, "not attempted")
    for attempt in range(settings.retries + 1):
        if stop is not None and stop.is_set():
            return DownloadOutcome(
                job, reason=R_INTERRUPTED, detail="stopped before the request", attempts=attempt
            )
        try:
            file, sha = _attempt(job, session, cache_dir, settings)
            return DownloadOutcome(job, file=file, sha256=sha, attempts=attempt + 1)
        except _Fail as exc:
            return DownloadOutcome(job, reason=exc.reason, detail=exc.detail, attempts=attempt + 1)
        except _Retry as exc:
            last = exc
            if attempt < settings.retries:
                delay = settings.backoff * (2**attempt)
                logger.debug(
                    "%s: %s (%s), retry %d in %.2fs", job.url, exc.reason, exc.detail, attempt + 1, delay
                )
                if stop is not None and stop.wait(delay):
                    return DownloadOutcome(
                        job, reason=R_INTERRUPTED, detail="stopped during backoff", attempts=attempt + 1
                    )
                if stop is None:
                    time.sleep(delay)
    detail = f"{last.detail} (after {settings.retries + 1} attempts)"
    return DownloadOutcome(job, reason=last.reason, detail=detail, attempts=settings.retries + 1)


def _cached(
    job: DownloadJob, entry: Mapping[str, object] | None, cache_dir: Path, reuse: Mapping[str, Path]
) -> DownloadOutcome | None:
    """A journal entry for the same url whose file (cache, or the data root's copy) still has its sha256."""
    if not entry or entry.get("url") != job.url or not entry.get("sha256"):
        return None
    for file in (cache_dir / str(entry.get("file", "")), reuse.get(job.image_id)):
        if file is not None and file.is_file() and file_sha256(file) == entry["sha256"]:
            return DownloadOutcome(job, file=file, sha256=str(entry["sha256"]), attempts=0)
    logger.warning(
        "%s: journal entry no longer matches a file with sha256 %s; fetching again",
        job.image_id,
        entry["sha256"],
    )
    return None


def download_all(
    jobs: Sequence[DownloadJob],
    cache_dir: Path,
    settings: DownloadSettings,
    reuse: Mapping[str, Path] | None = None,
    cancel: threading.Event | None = None,
    max_items: int | None = None,
    progress: bool = True,
) -> DownloadReport:
    """Download every job into `cache_dir` (journal: `cache_dir/journal.jsonl`).

    reuse: image_id -> a file already in the data root, accepted when its sha256 matches the journal.
    cancel: set it (another thread, or KeyboardInterrupt) to stop; max_items: stop after that many
    fresh fetches. A stopped run returns interrupted=True; jobs not done carry reason 'interrupted'.
    Outcomes are in job order.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(cache_dir / JOURNAL_NAME)
    done = journal.load()
    stop = cancel or threading.Event()
    local = threading.local()
    fresh = 0
    count_lock = threading.Lock()

    def work(job: DownloadJob) -> DownloadOutcome:
        nonlocal fresh
        cached = _cached(job, done.get(job.image_id), cache_dir, reuse or {})
        if cached is not None:
            return cached
        if stop.is_set():
            return DownloadOutcome(job, reason=R_INTERRUPTED, detail="not started")
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["User-Agent"] = settings.user_agent
        outcome = fetch(job, local.session, cache_dir, settings, stop)
        if outcome.ok:
            journal.append(
                {
                    "id": job.image_id,
                    "url": job.url,
                    "sha256": outcome.sha256,
                    "file": outcome.file.name if outcome.file else "",
                    "row": job.row,
                }
            )
            with count_lock:
                fresh += 1
                if max_items is not None and fresh >= max_items:
                    stop.set()
        return outcome

    results: dict[int, DownloadOutcome] = {}
    with (
        ThreadPoolExecutor(max_workers=max(1, settings.workers), thread_name_prefix="download") as pool,
        tqdm(total=len(jobs), disable=not progress, unit="photo", desc="download") as bar,
    ):
        futures = {pool.submit(work, job): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
        except KeyboardInterrupt:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    outcomes = [results[i] for i in range(len(jobs))]
    report = DownloadReport(outcomes, interrupted=any(o.reason == R_INTERRUPTED for o in outcomes))
    logger.info(
        "download: %d jobs, %d fetched, %d from cache, %d failed%s",
        len(jobs),
        report.fetched,
        report.from_cache,
        sum(1 for o in outcomes if not o.ok),
        " (interrupted)" if report.interrupted else "",
    )
    return report
