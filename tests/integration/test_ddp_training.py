"""Multi-process training (DDP under torchrun, gloo, 2 CPU processes) on the tiny shapes world of
test_training: the loss curve of 2 processes equals 1 process's with the same global batch, the ranks
hold identical state, and kill -9 of the whole torchrun group mid-stage resumes from the checkpoint.

Tolerance: with no BatchNorm layer in training mode (trainable_blocks 0, no neck), 2 processes compute
the 1-process step up to float summation order, so every epoch's loss agrees to LOSS_RTOL relative.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from landmark.params import load_params
from landmark.stages import train as train_stage
from tests.integration.test_training import make_world, write_params

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
LOSS_RTOL = 1e-4  # measured: 2e-7 (float summation order of the gradient and centre all-reduces)


def _params(root: Path, name: str, processes: int, epochs: int, batchnorm: bool) -> Path:
    """test_training's params with m_per_class 2 (6 classes a batch: 3 per rank) and `processes`;
    without `batchnorm` nothing normalises over a batch (frozen backbone, pooled features)."""
    raw = yaml.safe_load(write_params(root, epochs).read_text())
    raw["train"].update({"m_per_class": 2, "processes": processes,
                         "trainable_blocks": 1 if batchnorm else 0})
    raw["backbone"]["embed_dim"] = 16 if batchnorm else 0
    path = root / name
    path.write_text(yaml.safe_dump(raw))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "LANDMARK_NO_MLFLOW": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _stage_cmd(root: Path, params: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "landmark.stages.train", "--stage", "1", "--params", str(params),
            "--manifest", str(root / "artifacts/clean/manifest.csv"), "--data-root", str(root / "data"),
            "--threads", "1", "--out", str(out)]


def _running(marker: str) -> list[int]:
    """Ids of live processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State"))
        except (OSError, StopIteration):
            continue
        if marker in cmdline and "zombie" not in state:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """The shapes world (24 photos a landmark: 4 batches an epoch) and the 1-process loss curve of
    4 epochs without BatchNorm, trained in this process."""
    root = tmp_path_factory.mktemp("ddp")
    manifest = make_world(root, photos=24)
    torch.set_num_threads(1)
    params = load_params(_params(root, "one.yaml", processes=1, epochs=4, batchnorm=False))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANDMARK_NO_MLFLOW", "1")
        metrics = train_stage.run(1, params, manifest, root / "data", root / "one", root / "none", "cpu")
    return root, [h["loss"] for h in metrics["history"]]  # type: ignore[attr-defined]


def test_two_processes_follow_the_one_process_loss_curve(world: tuple[Path, list[float]]) -> None:
    root, one = world
    params = _params(root, "two.yaml", processes=2, epochs=4, batchnorm=False)
    done = subprocess.run(_stage_cmd(root, params, root / "two"), cwd=root, env=_env(), capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 1 of 2" in done.stderr and "backend gloo" in done.stderr
    two = json.loads((root / "two" / "metrics.json").read_text())
    assert [h["loss"] for h in two["history"]] == pytest.approx(one, rel=LOSS_RTOL)
    assert one[-1] < 0.7 * one[0]  # the curve is a real one: it falls
    centres_one = torch.load(root / "one" / "centres.pt", weights_only=True)
    centres_two = torch.load(root / "two" / "centres.pt", weights_only=True)
    assert centres_one.abs().sum() > 0
    assert torch.allclose(centres_two, centres_one, atol=1e-4)


def test_ranks_hold_identical_weights_centres_and_batchnorm_statistics(world: tuple[Path, list[float]]) -> None:
    root, _ = world
    params = _params(root, "bn.yaml", processes=2, epochs=2, batchnorm=True)
    out = root / "ranks"
    out.mkdir()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           str(REPO / "tests/integration/ddp_rank_state.py"), str(params),
           str(root / "artifacts/clean/manifest.csv"), str(root / "data"), str(out)]
    done = subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = (torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert rank0["centres"].abs().sum() > 0
    assert torch.equal(rank0["centres"], rank1["centres"])
    for part in ("model", "head"):
        for key, value in rank0[part].items():
            assert torch.equal(value, rank1[part][key]), f"{part}.{key} differs between the ranks"
    # the neck's BatchNorm trained (its running statistics moved) and is the same on both ranks
    assert not torch.allclose(rank0["model"]["neck.1.running_mean"], torch.zeros(16))
    for h0, h1 in zip(rank0["history"], rank1["history"], strict=True):  # the global batches' metrics
        assert {k: h0[k] for k in ("loss", "ce", "centre", "accuracy")} == {
            k: h1[k] for k in ("loss", "ce", "centre", "accuracy")}


def test_kill_9_of_the_torchrun_group_resumes_under_ddp(world: tuple[Path, list[float]]) -> None:
    root, one = world
    params = _params(root, "kill.yaml", processes=2, epochs=4, batchnorm=False)
    out = root / "killed"
    last = out / "checkpoints" / "last.pt"
    cmd = _stage_cmd(root, params, out)
    proc = subprocess.Popen(cmd, cwd=root, env=_env(), stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert last.exists(), "no checkpoint after the first epoch"
    os.killpg(proc.pid, signal.SIGKILL)  # torchrun's group, in the middle of epoch 2
    proc.wait()
    # torchrun starts the ranks in sessions of their own: they die with it, they do not train on
    deadline = time.monotonic() + 15
    while _running(str(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(str(out)), "training ranks outlived the killed torchrun"
    done = torch.load(last, weights_only=True)["epoch"]
    assert done < 4, "the stage finished before the kill"
    rerun = subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{done} epochs done" in rerun.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == done
    assert [h["epoch"] for h in metrics["history"]] == [1.0, 2.0, 3.0, 4.0]
    # the resumed run ends where an uninterrupted one does (the 1-process curve, LOSS_RTOL)
    assert [h["loss"] for h in metrics["history"]] == pytest.approx(one, rel=LOSS_RTOL)
