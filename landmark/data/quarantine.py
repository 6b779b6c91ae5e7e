"""The one quarantine format (QUARANTINE_COLUMNS: row, image_id, source, reason, detail), written by
import and validate alike, and what an import did with each input row: its quarantine file and summary.

Every input row of an import ends up in exactly one of three places: imported, skipped as a
duplicate of what is already there, or quarantined with a reason. `ImportSummary` checks that the
counts add up; `write_quarantine` writes `data/quarantine/import-<timestamp>.csv`.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"
QUARANTINE_COLUMNS: tuple[str, ...] = ("row", "image_id", "source", "reason", "detail")


@dataclass(frozen=True)
class QuarantineEntry:
    """One input row that was not imported.

    row: 1-based number of the row in the input (data rows of a CSV; files in sorted order for a folder).
    reason: a short category that `ImportSummary.by_reason` counts; detail: the specific message.
    """

    row: int
    image_id: str
    source: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class ImportSummary:
    """Counts of one import. Invariant: rows_in == imported + skipped_duplicates + quarantined."""

    rows_in: int
    imported: int
    skipped_duplicates: int
    quarantined: int
    by_reason: Mapping[str, int] = field(default_factory=dict)
    mode: str = "extend"
    source: str = ""
    manifest_rows: int = 0  # rows in the data root's manifest after the import
    manifest_path: Path | None = None
    quarantine_path: Path | None = None

    def __post_init__(self) -> None:
        accounted = self.imported + self.skipped_duplicates + self.quarantined
        if accounted != self.rows_in:
            raise ValueError(
                f"import counts do not add up: {self.rows_in} rows in, {self.imported} imported + "
                f"{self.skipped_duplicates} duplicates + {self.quarantined} quarantined = {accounted}"
            )
        if sum(self.by_reason.values()) != self.quarantined:
            raise ValueError(
                f"by_reason {dict(self.by_reason)} does not sum to {self.quarantined} quarantined"
            )

    def describe(self) -> str:
        """One line for logs."""
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_reason.items())) or "none"
        return (
            f"import ({self.mode}) from {self.source}: {self.rows_in} rows in, {self.imported} imported, "
            f"{self.skipped_duplicates} duplicates skipped, {self.quarantined} quarantined ({reasons}); "
            f"manifest now {self.manifest_rows} rows"
        )


def count_reasons(entries: Iterable[QuarantineEntry]) -> dict[str, int]:
    """Number of quarantined rows per reason category."""
    return dict(Counter(entry.reason for entry in entries))


def quarantine_file_name(now: datetime | None = None) -> str:
    """`import-<UTC timestamp>.csv`, microseconds included so two imports never share a file."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S_%fZ")
    return f"import-{stamp}.csv"


def write_quarantine(
    entries: Iterable[QuarantineEntry], data_root: Path, now: datetime | None = None
) -> Path:
    """Write the quarantined rows (sorted by row) to `<data_root>/quarantine/import-<timestamp>.csv`.

    The file is written even when empty (header only), so every import leaves an audit trail.
    """
    folder = Path(data_root) / QUARANTINE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / quarantine_file_name(now)
    rows = sorted(entries, key=lambda e: (e.row, e.image_id))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(QUARANTINE_COLUMNS)
        for entry in rows:
            writer.writerow([entry.row, entry.image_id, entry.source, entry.reason, entry.detail])
    logger.info("quarantine: %d row(s) written to %s", len(rows), path)
    return path


def read_quarantine(path: Path) -> list[QuarantineEntry]:
    """Read back a quarantine file written by `write_quarantine`."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return [
            QuarantineEntry(int(r["row"]), r["image_id"], r["source"], r["reason"], r["detail"])
            for r in csv.DictReader(handle)
        ]
