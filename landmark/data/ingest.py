"""Checking import candidates: one local file per input row, accepted or quarantined with a reason.

Every importer turns its source into `Candidate`s (a row number, an image id, a label and a local
file) plus the rows it already rejected; `check_candidates` checks each file with
`landmark.data.photo_check.check_photo` (the same check validate runs: one decode, one hash)
and resolves duplicates against the input itself and (extend mode) the data root.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from landmark.data import photo_check
from landmark.data.photo_check import PhotoLimits, check_photo
from landmark.data.quarantine import QuarantineEntry

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
)
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# reason categories (ImportSummary.by_reason keys)
R_INVALID_ID = "invalid image_id"
R_EMPTY_LANDMARK = "empty landmark"
R_BAD_COORDINATE = "bad lat/lon"
# a photo file that is not usable: the reasons of landmark.data.photo_check (one vocabulary)
R_NOT_FOUND = photo_check.FILE_NOT_FOUND
R_TOO_LARGE = photo_check.TOO_LARGE_FILE
R_PATH_OUTSIDE = "path outside the source folder"
R_UNSUPPORTED = "unsupported file type"
R_DUP_INPUT = "duplicate image_id in input"
R_ID_CONFLICT = "image_id already in data root with other content"


@dataclass(frozen=True)
class Candidate:
    """One input row with a local file to import. lat/lon: float or None; extra: more manifest columns."""

    row: int
    image_id: str
    source: str
    file: Path
    landmark: str
    lat: float | None = None
    lon: float | None = None
    city: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """A checked candidate: its sha256 (hex) and the file suffix of its decoded format."""

    candidate: Candidate
    sha256: str
    suffix: str


@dataclass
class CheckResult:
    accepted: list[Accepted]
    quarantined: list[QuarantineEntry]
    duplicates: int


def parse_coordinate(text: str | float | None, limit: float) -> float | None:
    """'' / None -> None; a number within [-limit, limit] -> float; anything else raises ValueError."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    value = float(text)
    if math.isnan(value):
        return None
    if not -limit <= value <= limit:
        raise ValueError(f"{value} outside [-{limit}, {limit}]")
    return value


def _reject(candidate: Candidate, reason: str, detail: str) -> QuarantineEntry:
    return QuarantineEntry(candidate.row, candidate.image_id, candidate.source, reason, detail)


def check_candidates(
    candidates: Sequence[Candidate],
    existing: Mapping[str, tuple[str, str]],
    limits: PhotoLimits,
) -> CheckResult:
    """Check every candidate in row order (each file through `photo_check.check_photo`, decoded once).

    existing: image_id -> (sha256, landmark) already in the data root (empty in replace mode).
    An id seen before (in the input or in `existing`) with the same bytes and label is a skipped
    duplicate; with other bytes or another label it is quarantined.
    """
    accepted: list[Accepted] = []
    quarantined: list[QuarantineEntry] = []
    duplicates = 0
    seen: dict[str, tuple[str, str]] = {}
    for cand in sorted(candidates, key=lambda c: c.row):
        if not SAFE_ID.match(cand.image_id):
            quarantined.append(
                _reject(cand, R_INVALID_ID, f"{cand.image_id!r}: use letters, digits, . _ - only")
            )
            continue
        if not cand.landmark.strip():
            quarantined.append(_reject(cand, R_EMPTY_LANDMARK, "landmark label is empty"))
            continue
        checked = check_photo(cand.file, limits)
        if checked.reason is not None:
            quarantined.append(_reject(cand, checked.reason, checked.detail))
            continue
        sha, suffix = checked.sha256, checked.suffix
        for known, where, reason in (
            (seen, "earlier in the input", R_DUP_INPUT),
            (existing, "in the data root", R_ID_CONFLICT),
        ):
            if cand.image_id in known:
                old_sha, old_label = known[cand.image_id]
                if (old_sha, old_label) == (sha, cand.landmark):
                    duplicates += 1
                    logger.debug("row %d: %s is a duplicate %s", cand.row, cand.image_id, where)
                else:
                    what = "other bytes" if old_sha != sha else f"label {old_label!r} (not {cand.landmark!r})"
                    quarantined.append(_reject(cand, reason, f"{cand.image_id} {where} has {what}"))
                break
        else:
            seen[cand.image_id] = (sha, cand.landmark)
            accepted.append(Accepted(cand, sha, suffix))
    return CheckResult(accepted, quarantined, duplicates)
