"""File-level checks of one manifest row (GX cannot open files): the path stays inside the data root
(symlinks resolved), then `landmark.data.photo_check.check_photo` (exists, size, header, dimensions,
one full decode, sha256). The photo's reason is grouped into a validate check name
(`checks.FILE_CHECK_OF`); the first failure is the verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from landmark.data.photo_check import PhotoCheck, PhotoLimits, check_photo
from landmark.params import ValidateParams
from landmark.validation import checks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileVerdict:
    """Outcome of the file checks for one row.

    check: None when the file passed, else the name of the failed check (landmark.validation.checks);
    photo: the photo check behind it (its `reason` is the one vocabulary of landmark.data.photo_check).
    """

    check: str | None
    photo: PhotoCheck


def resolve_inside(root: Path, relative: str) -> Path | None:
    """The resolved file for `relative` under the resolved `root`, or None if it leaves the root
    (absolute path, `..`, or a symlink anywhere on the way that points outside)."""
    pure = PurePosixPath(relative)
    if not relative or pure.is_absolute() or Path(relative).is_absolute() or ".." in pure.parts:
        return None
    resolved = (root / relative).resolve(strict=False)
    return resolved if resolved.is_relative_to(root) else None


def check_file(root: Path, relative: str, params: ValidateParams) -> FileVerdict:
    """Run the file checks for one row. `root` must already be resolved (Path.resolve())."""
    path = resolve_inside(root, relative)
    if path is None:
        detail = f"{relative!r} resolves outside the data root {root}"
        return FileVerdict(checks.PATH, PhotoCheck(reason=checks.PATH, detail=detail))
    photo = check_photo(path, PhotoLimits.from_params(params), name=relative)
    return FileVerdict(None if photo.ok else checks.FILE_CHECK_OF[str(photo.reason)], photo)


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
