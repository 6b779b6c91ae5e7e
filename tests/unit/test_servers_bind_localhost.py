"""Every server command the project documents or prints binds 127.0.0.1 (prose may say how to expose one)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

SERVER_COMMAND = re.compile(r'(mlflow"? (models serve|server|ui)|prefect server start|uvicorn)')


def _documents() -> list[Path]:
    found = [REPO / "README.md", REPO / "mlflow" / "server.sh", REPO / "mlflow" / "README.md",
             REPO / "landmark" / "cli" / "summary.py", REPO / "flows" / "schedule.py", REPO / "Makefile"]
    found += sorted((REPO / "docs").glob("*.md"))
    return [p for p in found if p.is_file()]


def test_landmark_serve_binds_localhost_by_default() -> None:
    import inspect

    from landmark.cli.serve import serve_command
    from landmark.serving.server import serve

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve_command).parameters["host"].default == "127.0.0.1"


def _is_command(line: str, match: re.Match[str]) -> bool:
    """A command gives options after the program (or continues on the next line); prose such as
    "`mlflow models serve` answers..." does not."""
    rest = line[match.end():].split("`")[0]
    return " -" in rest or rest.rstrip().endswith(("\\", '"'))


def test_every_server_command_names_127_0_0_1() -> None:
    checked = 0
    for path in _documents():
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            match = SERVER_COMMAND.search(line)
            if match is None or not _is_command(line, match):
                continue
            window = " ".join(lines[i:i + 3])  # a command continued on the next lines
            assert "127.0.0.1" in window and "0.0.0.0" not in window, f"{path}:{i + 1}: {line.strip()}"
            checked += 1
    assert checked >= 6  # README serve + prefect, mlflow/server.sh, the two UI commands, flows/schedule.py
