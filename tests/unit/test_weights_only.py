"""Every `torch.load` in the product, flows, benchmarks and research passes `weights_only=True`: a
checkpoint someone hands us is never unpickled into arbitrary objects."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FOLDERS = ("landmark", "flows", "bench", "research", "tests")


def _torch_loads(path: Path) -> list[tuple[int, bool]]:
    """(line, weights_only=True given) for each `torch.load(...)` call in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
            safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                       for k in node.keywords)
            found.append((node.lineno, safe))
    return found


def test_every_torch_load_is_weights_only() -> None:
    calls = {f"{path.relative_to(REPO)}:{line}": safe
             for folder in FOLDERS if (REPO / folder).is_dir()
             for path in sorted((REPO / folder).rglob("*.py")) for line, safe in _torch_loads(path)}
    assert len(calls) >= 5  # the scan finds the known loads (state, head, train stage, weights, load_half)
    assert [where for where, safe in calls.items() if not safe] == []
