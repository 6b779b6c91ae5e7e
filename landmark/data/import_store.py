"""Writing an import into the data root: copy the accepted photos, write the manifest, log the summary.

`replace` makes the data root hold exactly the imported set (the photos are staged first, the old
photos and manifest go only once the new set is complete); `extend` adds to what is there. Photos
land at `images/<image_id><suffix>`; the manifest gains a `sha256` column.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from landmark.data.ingest import (
    Accepted,
    Candidate,
    check_candidates,
)
from landmark.data.manifest import COLUMNS, MANIFEST_NAME, NOISE_TRUTH_NAME, read_manifest, write_manifest
from landmark.data.photo_check import PhotoLimits
from landmark.data.quarantine import (
    QUARANTINE_DIR,
    ImportSummary,
    QuarantineEntry,
    count_reasons,
    write_quarantine,
)
from landmark.hashing import file_sha256

logger = logging.getLogger(__name__)

Mode = Literal["replace", "extend"]
IMAGES_DIR = "images"
STAGING_DIR = ".import-staging"
PROJECT_MARKERS = ("params.yaml", "pyproject.toml", ".git")


class DataImportError(RuntimeError):
    """The import cannot proceed as a whole (bad mode, unsafe data root, nothing importable)."""


class NothingImported(DataImportError):
    """A replace import where every row was quarantined: the data root is left unchanged."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


def _existing_state(
    manifest: pd.DataFrame, data_root: Path, wanted_ids: set[str]
) -> dict[str, tuple[str, str]]:
    """image_id -> (sha256, landmark) for rows of the current manifest whose id the input also uses."""
    state: dict[str, tuple[str, str]] = {}
    for row in manifest.itertuples(index=False):
        if row.image_id not in wanted_ids:
            continue
        sha = str(getattr(row, "sha256", "") or "")
        if not sha:
            file = data_root / str(row.path)
            sha = file_sha256(file) if file.is_file() else "missing"
        state[row.image_id] = (sha, str(row.landmark))
    return state


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        shutil.copyfile(src, partial)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise _WriteFailed(src, dest, exc) from exc
    os.replace(partial, dest)


class _WriteFailed(OSError):
    """Copying `src` to `dest` failed (e.g. ENOSPC); carries both paths for the message."""

    def __init__(self, src: Path | None, dest: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.src, self.dest, self.cause = src, dest, cause


def _manifest_row(item: Accepted, rel_path: str) -> dict[str, object]:
    cand = item.candidate
    row: dict[str, object] = {
        "image_id": cand.image_id,
        "path": rel_path,
        "landmark": cand.landmark,
        "lat": cand.lat,
        "lon": cand.lon,
        "city": cand.city,
    }
    row.update({k: v for k, v in cand.extra.items() if k not in COLUMNS and k not in ("sha256", "split")})
    row["sha256"] = item.sha256
    return row


def _place(
    accepted: Sequence[Accepted], root: Path, taken: set[str], written: list[Path]
) -> list[dict[str, object]]:
    """Copy each accepted photo under `root`/images (each file written is appended to `written`, so a
    failed import can be undone); return the manifest rows (paths relative to root)."""
    rows = []
    for item in accepted:
        rel = f"{IMAGES_DIR}/{item.candidate.image_id}{item.suffix}"
        if rel in taken:  # the name is held by another id of the current data root
            rel = f"{IMAGES_DIR}/{item.candidate.image_id}-{item.sha256[:8]}{item.suffix}"
        _copy(item.candidate.file, root / rel)
        written.append(root / rel)
        taken.add(rel)
        rows.append(_manifest_row(item, rel))
    return rows


def _clear_old(data_root: Path, old: pd.DataFrame) -> None:
    """Remove the previous data set: its listed photos, images/, the manifest and the sample truth."""
    root = data_root.resolve()
    for rel in old["path"].astype(str) if len(old) else []:
        file = (data_root / rel).resolve()
        if file.is_relative_to(root) and file.is_file():
            file.unlink()
    shutil.rmtree(data_root / IMAGES_DIR, ignore_errors=True)
    for name in (MANIFEST_NAME, NOISE_TRUTH_NAME):
        (data_root / name).unlink(missing_ok=True)
    for folder in sorted((p for p in data_root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if folder.name not in ("quarantine",) and not any(folder.iterdir()):
            folder.rmdir()


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    partial = path.with_name(path.name + ".part")
    try:
        write_manifest(frame, partial)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise _WriteFailed(None, path, exc) from exc
    os.replace(partial, path)


def _undo(written: Sequence[Path], staging: Path) -> None:
    """Remove what a failed import wrote (its photos, its quarantine file, the staging folder) and the
    folders that emptied: the data root is left as the previous import made it."""
    for path in reversed(written):
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == staging.parent or not folder.is_dir() or any(folder.iterdir()):
                break
            folder.rmdir()
    shutil.rmtree(staging, ignore_errors=True)


def _failure_message(exc: OSError, data_root: Path, source: str, copied: int) -> str:
    """One line: which file, why (no space left...), free bytes, and that the import was undone."""
    if isinstance(exc, _WriteFailed):
        what = f"copying {exc.src} to {exc.dest}" if exc.src else f"writing {exc.dest}"
        cause: OSError = exc.cause
    else:
        what, cause = f"writing into {data_root}", exc
    reason = "no space left on device" if cause.errno == errno.ENOSPC else (cause.strerror or str(cause))
    try:
        free = f"; {shutil.disk_usage(data_root).free} bytes free on its device"
    except OSError:
        free = ""
    return (f"import from {source} failed while {what}: {reason}{free}. The {copied} photo(s) already "
            f"copied were removed: {data_root} is unchanged (the previous data version)")


def _write_import(
    accepted: Sequence[Accepted], old: pd.DataFrame, data_root: Path, staging: Path, mode: Mode,
    written: list[Path],
) -> pd.DataFrame:
    """Copy the photos and write the manifest; returns the new manifest. Until the last step nothing
    of the previous data set is touched: a replace import writes photos and manifest into staging
    first and only then swaps (renames, which need no space)."""
    manifest_path = data_root / MANIFEST_NAME
    if mode == "replace":
        rows = _place(accepted, staging, set(), written)
        new = pd.DataFrame(rows)
        _write_atomic(new, staging / MANIFEST_NAME)
        _clear_old(data_root, old)
        os.replace(staging / IMAGES_DIR, data_root / IMAGES_DIR)
        os.replace(staging / MANIFEST_NAME, manifest_path)
        shutil.rmtree(staging, ignore_errors=True)
        return new
    rows = _place(accepted, data_root, set(old["path"].astype(str)), written)
    if not rows:
        return old
    new = pd.concat([old, pd.DataFrame(rows)], ignore_index=True) if len(old) else pd.DataFrame(rows)
    _write_atomic(new, manifest_path)
    return new


def _write_quarantine_or_fail(entries: Sequence[QuarantineEntry], data_root: Path, source: str) -> Path:
    """write_quarantine, but a failed write (e.g. ENOSPC) leaves no partial file and says so."""
    folder = data_root / QUARANTINE_DIR
    before = set(folder.iterdir()) if folder.is_dir() else set()
    try:
        return write_quarantine(entries, data_root)
    except OSError as exc:
        for path in (set(folder.iterdir()) if folder.is_dir() else set()) - before:
            path.unlink(missing_ok=True)
        raise DataImportError(_failure_message(_WriteFailed(None, folder, exc), data_root, source, 0)) from exc


def run_import(
    candidates: Sequence[Candidate],
    rejected: Sequence[QuarantineEntry],
    rows_in: int,
    data_root: Path,
    mode: Mode,
    source: str,
    limits: PhotoLimits,
) -> ImportSummary:
    """Check the candidates, copy the accepted photos into `data_root` and write its manifest.

    limits: `PhotoLimits.for_import` of the params' `validate` section.
    rejected: rows the importer already quarantined (unreadable rows, paths outside, failed downloads).
    Writes `<data_root>/quarantine/import-<timestamp>.csv` and logs the summary. Raises NothingImported
    (data root unchanged) when a replace import has no usable row, and DataImportError (naming the
    file and the reason, e.g. no space left on device) when a write fails: what this import had
    written is removed first, so the data root is the previous data version, unchanged.
    """
    if mode not in ("replace", "extend"):
        raise DataImportError(f"mode must be 'replace' or 'extend', not {mode!r}")
    data_root = Path(data_root)
    if mode == "replace" and any((data_root / m).exists() for m in PROJECT_MARKERS):
        raise DataImportError(
            f"{data_root} looks like a project folder ({PROJECT_MARKERS}); refusing to replace it"
        )
    data_root.mkdir(parents=True, exist_ok=True)
    staging = data_root / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)  # left behind by a killed replace import
    manifest_path = data_root / MANIFEST_NAME
    old = read_manifest(manifest_path) if manifest_path.is_file() else pd.DataFrame(columns=list(COLUMNS))
    existing = {} if mode == "replace" else _existing_state(old, data_root, {c.image_id for c in candidates})
    checked = check_candidates(candidates, existing, limits)
    quarantined = list(rejected) + checked.quarantined
    quarantine_path = _write_quarantine_or_fail(quarantined, data_root, source)

    def summary(manifest_rows: int, path: Path | None) -> ImportSummary:
        return ImportSummary(
            rows_in=rows_in,
            imported=len(checked.accepted),
            skipped_duplicates=checked.duplicates,
            quarantined=len(quarantined),
            by_reason=count_reasons(quarantined),
            mode=mode,
            source=source,
            manifest_rows=manifest_rows,
            manifest_path=path,
            quarantine_path=quarantine_path,
        )

    if mode == "replace" and not checked.accepted:
        result = summary(len(old), manifest_path if len(old) else None)
        raise NothingImported(f"nothing to import from {source}; {data_root} left unchanged", result)
    written: list[Path] = [quarantine_path]
    try:
        new = _write_import(checked.accepted, old, data_root, staging, mode, written)
    except OSError as exc:  # ENOSPC, EIO, EACCES...: undo, then say so
        message = _failure_message(exc, data_root, source, len(written) - 1)  # free space before the undo
        _undo(written, staging)
        raise DataImportError(message) from exc
    result = summary(len(new), manifest_path if len(new) else None)
    logger.info(result.describe())
    return result
