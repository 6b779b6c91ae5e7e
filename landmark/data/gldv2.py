"""Import a Google Landmarks v2 style CSV (`id,url,landmark_id`): download, check, copy into the data root.

Downloads go to `<data_root>/.downloads/` with the resumable journal (download.py); an interrupted
run leaves the data root's manifest untouched and a rerun fetches only what is missing. The
landmark_id becomes the label as a string; the url is kept in a `url` column.
"""

from __future__ import annotations

import csv
import logging
import threading
from pathlib import Path
from urllib.parse import urlsplit

from landmark.data.download import DownloadJob, DownloadReport, DownloadSettings, download_all
from landmark.data.import_store import Mode, run_import
from landmark.data.ingest import R_DUP_INPUT, R_EMPTY_LANDMARK, R_INVALID_ID, SAFE_ID, Candidate
from landmark.data.manifest import MANIFEST_NAME, ManifestError, read_manifest
from landmark.data.quarantine import ImportSummary, QuarantineEntry
from landmark.layout import DATA

logger = logging.getLogger(__name__)

GLDV2_COLUMNS: tuple[str, ...] = ("id", "url", "landmark_id")
DOWNLOAD_DIR = ".downloads"
R_MALFORMED = "malformed row"
R_EMPTY_URL = "empty url"
R_BAD_URL = "unsupported url"


class DownloadInterrupted(RuntimeError):
    """The download stopped before every row was tried; the data root's manifest is unchanged."""

    def __init__(self, message: str, report: DownloadReport) -> None:
        super().__init__(message)
        self.report = report


def parse_gldv2(
    csv_path: Path,
) -> tuple[list[DownloadJob], dict[int, str], list[DownloadJob], list[QuarantineEntry], int]:
    """Read the CSV. Returns (jobs to fetch, row -> label, repeated rows of a fetched id, rejected, rows_in).

    A row is rejected when it has the wrong number of fields, an empty/unsafe id, an empty or
    non-http(s) url, an empty landmark_id, or repeats an id with another url.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"{csv_path}: file not found")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    if not records:
        raise ManifestError(f"{csv_path}: empty file")
    header = [h.strip() for h in records[0]]
    missing = [c for c in GLDV2_COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{csv_path}: missing column(s) {missing}; found {header}")
    where = {c: header.index(c) for c in GLDV2_COLUMNS}
    jobs: list[DownloadJob] = []
    repeats: list[DownloadJob] = []
    labels: dict[int, str] = {}
    rejected: list[QuarantineEntry] = []
    url_of: dict[str, str] = {}
    rows = [r for r in records[1:] if any(cell.strip() for cell in r)]
    for row, fields in enumerate(rows, start=1):
        if len(fields) != len(header):
            rejected.append(
                QuarantineEntry(
                    row,
                    fields[0].strip() if fields else "",
                    ",".join(fields),
                    R_MALFORMED,
                    f"expected {len(header)} fields, got {len(fields)}",
                )
            )
            continue
        image_id, url, label = (fields[where[c]].strip() for c in GLDV2_COLUMNS)
        problem = None
        if not SAFE_ID.match(image_id):
            problem = (R_INVALID_ID, f"{image_id!r}: use letters, digits, . _ - only")
        elif not url:
            problem = (R_EMPTY_URL, "url is empty")
        elif urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            problem = (R_BAD_URL, f"{url!r}: only http(s) urls")
        elif not label:
            problem = (R_EMPTY_LANDMARK, "landmark_id is empty")
        elif image_id in url_of and url_of[image_id] != url:
            problem = (R_DUP_INPUT, f"{image_id} appears earlier with url {url_of[image_id]}")
        if problem:
            rejected.append(QuarantineEntry(row, image_id, url, *problem))
            continue
        labels[row] = label
        (repeats if image_id in url_of else jobs).append(DownloadJob(row, image_id, url))
        url_of[image_id] = url
    return jobs, labels, repeats, rejected, len(rows)


def _data_root_files(data_root: Path) -> dict[str, Path]:
    """image_id -> its photo in the data root, for reuse by a rerun whose cache was cleared."""
    manifest = data_root / MANIFEST_NAME
    if not manifest.is_file():
        return {}
    frame = read_manifest(manifest)
    return {str(i): data_root / str(p) for i, p in zip(frame["image_id"], frame["path"], strict=True)}


def import_gldv2(
    csv_path: Path,
    data_root: Path = DATA,
    mode: Mode = "extend",
    *,
    settings: DownloadSettings,
    cancel: threading.Event | None = None,
    max_items: int | None = None,
    keep_downloads: bool = False,
    progress: bool = True,
) -> ImportSummary:
    """Download a GLDv2 CSV's photos (parallel, resumable, retried) and import them.

    Every failed download is quarantined with its reason. Raises DownloadInterrupted (manifest
    untouched, journal kept) when `cancel` is set or `max_items` fresh fetches are reached.
    keep_downloads=False deletes the cached copies once they are in the data root.
    """
    data_root = Path(data_root)
    jobs, labels, repeats, rejected, rows_in = parse_gldv2(Path(csv_path))
    cache = data_root / DOWNLOAD_DIR
    report = download_all(
        jobs,
        cache,
        settings,
        reuse=_data_root_files(data_root),
        cancel=cancel,
        max_items=max_items,
        progress=progress,
    )
    if report.interrupted:
        raise DownloadInterrupted(
            f"download of {csv_path} interrupted after {report.fetched} fetched; rerun to resume", report
        )
    files = {o.job.image_id: o.file for o in report.outcomes if o.ok}
    candidates: list[Candidate] = []
    for job in jobs + repeats:
        if job.image_id in files:
            file = files[job.image_id]
            assert file is not None
            candidates.append(
                Candidate(job.row, job.image_id, job.url, file, labels[job.row], extra={"url": job.url})
            )
    failed = {o.job.image_id: o for o in report.outcomes if not o.ok}
    for job in jobs + repeats:
        if job.image_id in failed:
            outcome = failed[job.image_id]
            rejected.append(QuarantineEntry(job.row, job.image_id, job.url, outcome.reason, outcome.detail))
    summary = run_import(
        candidates, rejected, rows_in, data_root, mode, f"gldv2 {csv_path}", settings.limits
    )
    if not keep_downloads:
        for file in files.values():
            if file is not None and file.is_relative_to(cache):
                file.unlink(missing_ok=True)
        logger.debug("cleared cached downloads in %s (journal kept)", cache)
    return summary
