"""A quiet first run: importing the retrain flow warns about nothing (pydantic used to warn that the
flow parameter `register` shadows an attribute of the model Prefect builds for its parameters)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_retrain_flow_raises_no_user_warning() -> None:
    # a fresh interpreter: the flow's parameter model is built once, when the module is first imported
    code = "import flows.retrain as r; print(sorted(r.retrain.parameters.properties))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
    assert result.stdout.strip() == "['force', 'project_dir', 'register_models']"
