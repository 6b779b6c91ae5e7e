"""Cold start of `landmark recognize one.png`: wall seconds of a fresh process, from exec to answer.

Project: the default path, which opens the checkpoint's export from its manifest without importing
torch or timm (`landmark.models.exported`). Baseline, same run and bundle: the same command with the
export manifest removed before each run, so the network is loaded in torch to find its export (the
path every call took before the manifest). Median of 5 runs each, alternating; ratio = baseline / project
(> 1: faster). Target: < 2 s.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.runner import table
from bench.served_model import build_bundle, real_photos

log = logging.getLogger(__name__)
RUNS = 5


def _recognize_seconds(folder: Path, photo: Path) -> float:
    landmark = Path(sys.executable).parent / "landmark"
    start = time.perf_counter()
    subprocess.run([str(landmark), "recognize", str(photo), "--index", str(folder / "index"),
                    "--model", str(folder / "model.pt")], cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> list[dict]:
    from landmark.models.export_files import manifest_path

    photo = real_photos(1)[0]
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        folder = Path(tmp)
        _, model_path = build_bundle(folder)
        manifest = manifest_path(model_path)
        saved = manifest.read_bytes()
        _recognize_seconds(folder, photo)  # page cache warm for both
        fast, slow = [], []
        for _ in range(RUNS):
            manifest.write_bytes(saved)
            fast.append(_recognize_seconds(folder, photo))
            manifest.unlink()
            slow.append(_recognize_seconds(folder, photo))
    project, baseline = float(np.median(fast)), float(np.median(slow))
    rows = [{"figure": "cold start of `landmark recognize one.png`, s (export opened without torch vs via torch)",
             "project": round(project, 2), "baseline": round(baseline, 2), "ratio": round(baseline / project, 2),
             "note": f"{RUNS} runs each; fast {min(fast):.2f}-{max(fast):.2f} s, "
                     f"torch path {min(slow):.2f}-{max(slow):.2f} s"}]
    print(table(rows))
    return rows


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
