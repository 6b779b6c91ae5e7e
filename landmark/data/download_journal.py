"""The download journal: one JSON line per finished download (id, url, sha256, file, row).

Appended (and fsynced) as each photo finishes, so a run killed at any moment leaves every finished
download on record; a line cut short by the kill is ignored when the journal is read back.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path

JOURNAL_NAME = "journal.jsonl"


class Journal:
    """Append-only JSON lines of finished downloads; thread-safe; the last entry per id wins."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, object]]:
        entries: dict[str, dict[str, object]] = {}
        if not self.path.is_file():
            return entries
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a killed process
                continue
            if isinstance(entry, dict) and "id" in entry:
                entries[str(entry["id"])] = entry
        return entries

    def append(self, entry: Mapping[str, object]) -> None:
        line = json.dumps(dict(entry), sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
