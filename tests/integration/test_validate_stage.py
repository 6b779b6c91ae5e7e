"""`python -m landmark.stages.validate` in a throwaway project dir: outputs, exit codes, clean messages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from landmark.data.manifest import NON_LANDMARK, read_manifest

pytestmark = pytest.mark.integration


def _project(tmp_path: Path, repo_dir: Path) -> Path:
    shutil.copy(repo_dir / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "data").mkdir()
    return tmp_path


def _run(cwd: Path, repo_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LANDMARK_NO_MLFLOW="1", PYTHONPATH=str(repo_dir))
    return subprocess.run(
        [sys.executable, "-m", "landmark.stages.validate"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_stage_writes_all_outputs(tmp_path: Path, repo_dir: Path) -> None:
    project = _project(tmp_path, repo_dir)
    data = project / "data"
    rows = []
    for landmark, n in (("Tower", 6), ("Bridge", 5), ("Rare", 2), (NON_LANDMARK, 4)):
        for i in range(n):
            path = f"{landmark.strip('_')}/{i}.jpg"
            (data / path).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (48, 40), (i * 20, len(landmark) * 9, 100)).save(data / path)
            rows.append({"image_id": f"{landmark}-{i}", "path": path, "landmark": landmark})
    (data / "broken.jpg").write_text("<html>not found</html>")
    rows.append({"image_id": "broken", "path": "broken.jpg", "landmark": "Tower"})
    rows.append({"image_id": "escape", "path": "../params.yaml", "landmark": "Tower"})
    pd.DataFrame(rows).to_csv(data / "manifest.csv", index=False)

    done = _run(project, repo_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    out = project / "artifacts" / "validate"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rows_in"] == 19 == metrics["kept"] + metrics["quarantined"]
    assert (metrics["kept"], metrics["landmarks"], metrics["non_landmark"]) == (15, 2, 4)
    assert metrics["by_check"] == {
        **{k: 0 for k in metrics["by_check"]},
        "decode": 1,
        "path": 1,
        "min_photos": 2,
    }
    kept = read_manifest(out / "manifest.csv")
    assert len(kept) == 15 and {"width", "height", "mode", "sha256"} <= set(kept.columns)
    assert set(kept["width"]) == {"48"} and set(kept["height"]) == {"40"}
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    assert list(quarantine.columns) == ["row", "image_id", "source", "reason", "detail"]  # the import's format
    assert dict(zip(quarantine["image_id"], quarantine["reason"], strict=True)) == {
        "Rare-0": "min_photos",
        "Rare-1": "min_photos",
        "broken": "not_an_image",  # the photo reason, as the import names it (check: decode)
        "escape": "path",
    }
    report = (out / "report.html").read_text()
    assert "Validation report" in report and "broken.jpg" in report and "Tower" in report


@pytest.mark.parametrize(
    "content, problem",
    [
        ("image_id,landmark\na,Tower\n", "missing required column(s) ['path']"),
        ("", "cannot be read as CSV"),
        ("image_id,path,landmark\n", "has no rows"),
        (None, "manifest not found"),
    ],
)
def test_broken_table_stops_with_a_clear_message(
    tmp_path: Path, repo_dir: Path, content: str | None, problem: str
) -> None:
    project = _project(tmp_path, repo_dir)
    if content is not None:
        (project / "data" / "manifest.csv").write_text(content)
    done = _run(project, repo_dir)
    assert done.returncode == 2
    assert "data/manifest.csv" in done.stderr and problem in done.stderr
    assert "Traceback" not in done.stderr
    assert not (project / "artifacts" / "validate" / "manifest.csv").exists()


def test_nothing_kept_fails_after_writing_the_report(tmp_path: Path, repo_dir: Path) -> None:
    project = _project(tmp_path, repo_dir)
    pd.DataFrame({"image_id": ["a", "b"], "path": ["x.jpg", "y.jpg"], "landmark": ["T", "T"]}).to_csv(
        project / "data" / "manifest.csv", index=False
    )
    done = _run(project, repo_dir)
    assert done.returncode == 2 and "every one of 2 rows was quarantined" in done.stderr
    assert "Traceback" not in done.stderr
    quarantine = pd.read_csv(project / "artifacts" / "validate" / "quarantine.csv")
    assert list(quarantine["reason"]) == ["file_not_found", "file_not_found"]
