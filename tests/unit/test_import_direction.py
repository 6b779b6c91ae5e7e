"""The product library imports neither research/, the sample-world generator (samples/) nor the flows."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("research", "samples", "flows")
PROBE = """
import importlib, json, pkgutil, sys
import landmark
names = sorted(m.name for m in pkgutil.walk_packages(landmark.__path__, "landmark."))
for name in names:
    importlib.import_module(name)
roots = {m.split(".")[0] for m in sys.modules}
print(json.dumps({"modules": len(names), "loaded": sorted(roots & set(sys.argv[1:]))}))
"""


def test_importing_every_landmark_module_loads_no_research_samples_or_flows() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANDMARK_NO_MLFLOW": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, *FORBIDDEN], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] > 50
    assert report["loaded"] == [], f"landmark imports {report['loaded']}"


def test_no_landmark_module_imports_research_samples_or_flows_even_lazily() -> None:
    found = []
    for path in sorted((REPO / "landmark").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert found == []
