"""File-level checks of one manifest row (GX cannot open files): location, size, header, full decode.

Order per file: path stays inside the data root (symlinks resolved) -> a regular file exists -> size
within limits -> header readable -> dimensions within bounds (before any pixel is decoded, the
decompression-bomb guard) -> sha256 -> full decode through `load_rgb` (odd modes and EXIF orientation
normalised there). The first failure is the verdict.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from landmark.data.images import ImageDecodeError, ImageTooLargeError, load_rgb, read_header
from landmark.params import ValidateParams
from landmark.validation import checks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileVerdict:
    """Outcome of the file checks for one row.

    check: None when the file passed, else the name of the failed check (landmark.validation.checks);
    width, height: decoded size after EXIF orientation; mode: PIL mode as stored in the file;
    orientation: EXIF orientation tag (1 = as stored); sha256: hex digest of the file bytes.
    """

    check: str | None
    reason: str = ""
    width: int = 0
    height: int = 0
    mode: str = ""
    orientation: int = 1
    sha256: str = ""


def _fail(check: str, reason: str) -> FileVerdict:
    return FileVerdict(check=check, reason=reason)


def resolve_inside(root: Path, relative: str) -> Path | None:
    """The resolved file for `relative` under the resolved `root`, or None if it leaves the root
    (absolute path, `..`, or a symlink anywhere on the way that points outside)."""
    pure = PurePosixPath(relative)
    if not relative or pure.is_absolute() or Path(relative).is_absolute() or ".." in pure.parts:
        return None
    resolved = (root / relative).resolve(strict=False)
    return resolved if resolved.is_relative_to(root) else None


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _dimension_problem(width: int, height: int, params: ValidateParams) -> str | None:
    if width * height > params.max_pixels:
        return f"{width}x{height} = {width * height} pixels exceeds max_pixels {params.max_pixels}"
    if max(width, height) > params.max_side:
        return f"{width}x{height}: a side exceeds max_side {params.max_side}"
    if min(width, height) < params.min_side:
        return f"{width}x{height}: a side is below min_side {params.min_side}"
    return None


def check_file(root: Path, relative: str, params: ValidateParams) -> FileVerdict:
    """Run the file checks for one row. `root` must already be resolved (Path.resolve())."""
    path = resolve_inside(root, relative)
    if path is None:
        return _fail(checks.PATH, f"{relative!r} resolves outside the data root {root}")
    if not path.exists():
        return _fail(checks.FILE_MISSING, f"{relative}: no such file under {root}")
    if not path.is_file():
        return _fail(checks.FILE_MISSING, f"{relative}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        return _fail(checks.FILE_SIZE, f"{relative}: empty file")
    if size > params.max_file_bytes:
        return _fail(
            checks.FILE_SIZE, f"{relative}: {size} bytes exceeds max_file_bytes {params.max_file_bytes}"
        )
    try:
        header = read_header(path)
    except ImageTooLargeError as exc:
        return _fail(checks.DIMENSIONS, f"{relative}: header too large, {_tail(exc)}")
    except ImageDecodeError as exc:
        return _fail(checks.DECODE, f"{relative}: {_tail(exc)}")
    problem = _dimension_problem(header.width, header.height, params)
    if problem is not None:
        return _fail(checks.DIMENSIONS, f"{relative}: {problem}")
    digest = sha256_of(path)
    try:
        image = load_rgb(path, max_pixels=params.max_pixels)
    except ImageTooLargeError as exc:
        return _fail(checks.DIMENSIONS, f"{relative}: {_tail(exc)}")
    except ImageDecodeError as exc:
        return _fail(checks.DECODE, f"{relative}: {_tail(exc)}")
    width, height = image.size
    return FileVerdict(None, "", width, height, header.mode, header.orientation, digest)


def _tail(exc: Exception) -> str:
    """The reason part of an ImageDecodeError message (it starts with the absolute path)."""
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text


def check_files(
    root: Path, paths: Sequence[str], params: ValidateParams, workers: int = 2, progress: bool = True
) -> list[FileVerdict]:
    """File checks for many rows on a small thread pool (PIL decodes without the GIL).

    Returns one FileVerdict per entry of `paths`, in the same order.
    """
    root = Path(root).resolve()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="validate") as pool:
        verdicts = pool.map(lambda rel: check_file(root, rel, params), paths)
        return list(
            tqdm(
                verdicts,
                total=len(paths),
                desc="validate files",
                unit="file",
                disable=not progress,
                mininterval=1.0,
            )
        )
