"""The names of the validation checks, in the order they are applied, and the errors of the stage.

Every quarantined row carries exactly one reason (the first check it failed): a table check's name,
or for a file check the photo reason behind it (landmark.data.photo_check, the vocabulary the import
uses too); `check_of(reason)` gives its check.
"""

from __future__ import annotations

from landmark.data import photo_check
from landmark.data.manifest import ManifestError

# table-level row checks (great-expectations suite over the manifest)
IMAGE_ID = "image_id"  # image_id missing or blank
DUPLICATE_ID = "duplicate_id"  # image_id seen in an earlier row (the first is kept)
LABEL = "label"  # landmark label missing or blank
PATH = "path"  # path missing, absolute, with `..`, backslashes, or resolving outside the data root
COORDINATES = "coordinates"  # lat outside [-90, 90] or lon outside [-180, 180]
# file-level checks (Python, one row at a time)
FILE_MISSING = "file_missing"  # no regular file at the path
FILE_SIZE = "file_size"  # empty or larger than validate.max_file_bytes
DECODE = "decode"  # not an image, truncated or corrupt
DIMENSIONS = "dimensions"  # a side outside [min_side, max_side] or more than max_pixels (bomb guard)
# after all row checks
MIN_PHOTOS = "min_photos"  # the landmark keeps fewer than validate.min_photos_per_landmark photos

# the photo reason (landmark.data.photo_check, the one vocabulary) behind each file-level check
FILE_CHECK_OF: dict[str, str] = {
    photo_check.FILE_NOT_FOUND: FILE_MISSING,
    photo_check.EMPTY: FILE_SIZE,
    photo_check.TOO_LARGE_FILE: FILE_SIZE,
    photo_check.NOT_AN_IMAGE: DECODE,
    photo_check.TRUNCATED: DECODE,
    photo_check.TOO_MANY_PIXELS: DIMENSIONS,
    photo_check.TOO_SMALL: DIMENSIONS,
    photo_check.TOO_LARGE_SIDE: DIMENSIONS,
}



def check_of(reason: str) -> str:
    """The check a quarantine reason belongs to: a photo reason's file check, else the reason itself
    (table checks quarantine with their own name as the reason)."""
    return FILE_CHECK_OF.get(reason, reason)


ROW_CHECKS: tuple[str, ...] = (IMAGE_ID, DUPLICATE_ID, LABEL, PATH, COORDINATES)
FILE_CHECKS: tuple[str, ...] = (FILE_MISSING, FILE_SIZE, DECODE, DIMENSIONS)
ALL_CHECKS: tuple[str, ...] = ROW_CHECKS + FILE_CHECKS + (MIN_PHOTOS,)

DESCRIPTIONS: dict[str, str] = {
    IMAGE_ID: "image_id present and not blank",
    DUPLICATE_ID: "image_id unique (the first row with an id is kept)",
    LABEL: "landmark label present and not blank",
    PATH: "path relative, no '..', no backslash, stays inside the data root",
    COORDINATES: "lat in [-90, 90], lon in [-180, 180] (or empty)",
    FILE_MISSING: "a regular file exists at the path",
    FILE_SIZE: "file not empty and not larger than max_file_bytes",
    DECODE: "the file decodes completely as an image",
    DIMENSIONS: "sides within [min_side, max_side], pixels <= max_pixels (checked on the header)",
    MIN_PHOTOS: "each landmark keeps at least min_photos_per_landmark photos (non-landmark rows exempt)",
}


class ValidationError(ValueError):
    """The validate stage cannot produce a usable result; the message says why."""


class BrokenTableError(ValidationError, ManifestError):
    """The manifest as a whole is unusable: unreadable, no rows, or a required column missing."""


class NothingKeptError(ValidationError):
    """Every row was quarantined: the outputs are written, but nothing downstream can use them."""
