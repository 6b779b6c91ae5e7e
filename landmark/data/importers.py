"""Importers behind `landmark data import`: a folder per landmark, a manifest CSV, a folder of
non-landmark photos. Each turns its source into candidates and hands them to `run_import`, which
copies the photos into the data root and writes its manifest (see import_store.py).
The Google Landmarks v2 importer is in gldv2.py.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from landmark.data.import_store import Mode, run_import
from landmark.data.ingest import (
    IMAGE_SUFFIXES,
    R_BAD_COORDINATE,
    R_NOT_FOUND,
    R_PATH_OUTSIDE,
    R_UNSUPPORTED,
    Candidate,
    parse_coordinate,
)
from landmark.data.manifest import NON_LANDMARK, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, ManifestError, read_csv_table
from landmark.data.photo_check import PhotoLimits
from landmark.data.quarantine import ImportSummary, QuarantineEntry
from landmark.hashing import file_sha256
from landmark.layout import DATA

logger = logging.getLogger(__name__)

NON_LANDMARK_FOLDERS: frozenset[str] = frozenset({"non_landmark", "non_landmarks", NON_LANDMARK})
R_NO_LANDMARK_FOLDER = "file not in a landmark folder"


def folder_image_id(file: Path) -> str:
    """`<name slug>-<first 12 hex of the content's sha256>`: stable for the same bytes and name."""
    digest = file_sha256(file)[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", file.stem).strip("._-")[:80] or "photo"
    return f"{slug}-{digest}"


def _files(folder: Path) -> list[Path]:
    """Regular files under `folder` (recursively), hidden files and folders left out, sorted."""
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue
        found.append(path)
    return sorted(found)


def _folder_rows(src: Path, all_non_landmark: bool) -> tuple[list[Candidate], list[QuarantineEntry], int]:
    src = Path(src)
    if not src.is_dir():
        raise ManifestError(f"{src}: source folder not found")
    root = src.resolve()
    candidates: list[Candidate] = []
    rejected: list[QuarantineEntry] = []
    for row, file in enumerate(_files(src), start=1):
        rel = file.relative_to(src)
        top = rel.parts[0] if len(rel.parts) > 1 else ""
        if all_non_landmark or top in NON_LANDMARK_FOLDERS:
            label = NON_LANDMARK
        elif top:
            label = top
        else:
            rejected.append(
                QuarantineEntry(row, "", str(file), R_NO_LANDMARK_FOLDER, f"{rel}: put it in <landmark>/")
            )
            continue
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            rejected.append(
                QuarantineEntry(row, "", str(file), R_UNSUPPORTED, f"{rel}: suffix {file.suffix!r}")
            )
            continue
        if not file.resolve().is_relative_to(root):
            rejected.append(
                QuarantineEntry(row, "", str(file), R_PATH_OUTSIDE, f"{rel} links to {file.resolve()}")
            )
            continue
        try:
            image_id = folder_image_id(file)
        except OSError as exc:
            rejected.append(QuarantineEntry(row, "", str(file), R_NOT_FOUND, f"{rel}: {exc}"))
            continue
        candidates.append(Candidate(row, image_id, str(file), file, label))
    return candidates, rejected, len(candidates) + len(rejected)


def import_folder(
    src: Path,
    data_root: Path = DATA,
    mode: Mode = "extend",
    non_landmark: bool = False,
    *,
    limits: PhotoLimits,
) -> ImportSummary:
    """Import `<src>/<landmark_name>/**/*.jpg|png|...`: the folder name is the label; a folder named
    `non_landmark` (or non_landmark=True for all) marks non-landmark photos. Ids: name slug + content hash.
    """
    candidates, rejected, rows_in = _folder_rows(src, non_landmark)
    return run_import(candidates, rejected, rows_in, Path(data_root), mode, f"folder {src}", limits)


def add_non_landmarks(
    folder: Path, data_root: Path = DATA, mode: Mode = "extend", *, limits: PhotoLimits
) -> ImportSummary:
    """Add every photo under `folder` (any depth) as a non-landmark photo (label NON_LANDMARK)."""
    candidates, rejected, rows_in = _folder_rows(folder, all_non_landmark=True)
    return run_import(
        candidates, rejected, rows_in, Path(data_root), mode, f"non-landmarks {folder}", limits
    )


def read_source_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV read as strings; ManifestError names the file when it is unreadable or lacks a column."""
    return read_csv_table(path, required)


def _manifest_rows(csv_path: Path) -> tuple[list[Candidate], list[QuarantineEntry], int]:
    frame = read_source_table(csv_path, REQUIRED_COLUMNS)
    base = csv_path.parent.resolve()
    extra_columns = [c for c in frame.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    candidates: list[Candidate] = []
    rejected: list[QuarantineEntry] = []
    for row, record in enumerate(frame.to_dict("records"), start=1):
        image_id, raw = str(record["image_id"]).strip(), str(record["path"]).strip()
        if not raw:
            rejected.append(QuarantineEntry(row, image_id, raw, R_NOT_FOUND, "empty path"))
            continue
        given = Path(raw)
        file = given if given.is_absolute() else base / given
        if not given.is_absolute() and not file.resolve().is_relative_to(base):
            rejected.append(QuarantineEntry(row, image_id, raw, R_PATH_OUTSIDE, f"{raw} leaves {base}"))
            continue
        try:
            lat = parse_coordinate(record.get("lat"), 90.0)
            lon = parse_coordinate(record.get("lon"), 180.0)
        except ValueError as exc:
            rejected.append(QuarantineEntry(row, image_id, raw, R_BAD_COORDINATE, str(exc)))
            continue
        extra = {c: str(record[c]) for c in extra_columns}
        candidates.append(
            Candidate(
                row,
                image_id,
                raw,
                file,
                str(record["landmark"]).strip(),
                lat,
                lon,
                str(record.get("city", "")).strip(),
                extra,
            )
        )
    return candidates, rejected, len(frame)


def import_manifest(
    csv_path: Path,
    data_root: Path = DATA,
    mode: Mode = "extend",
    *,
    limits: PhotoLimits,
) -> ImportSummary:
    """Import a manifest CSV in our format (image_id,path,landmark[,lat,lon,city,...]).

    Paths may be absolute or relative to the CSV's folder; a relative path that leaves that folder
    is quarantined. Extra columns are kept (except split/sha256, which the import recomputes).
    """
    csv_path = Path(csv_path)
    candidates, rejected, rows_in = _manifest_rows(csv_path)
    return run_import(
        candidates, rejected, rows_in, Path(data_root), mode, f"manifest {csv_path}", limits
    )
