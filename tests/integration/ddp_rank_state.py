"""Run under torchrun by tests/integration/test_ddp_training.py: train stage 1 on every rank as the stage
script does, then save this rank's model, head and centres to <out>/rank<R>.pt so the test can compare
the ranks. `torchrun --nproc-per-node 2 tests/integration/ddp_rank_state.py PARAMS MANIFEST DATA OUT`."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from landmark.data.manifest import read_manifest
from landmark.params import load_params
from landmark.stages.train import start_point
from landmark.training.curriculum import class_order, stage_rows
from landmark.training.distributed import init_from_env, shutdown
from landmark.training.trainer import train_stage


def main(params_path: Path, manifest: Path, data_root: Path, out: Path) -> None:
    torch.set_num_threads(1)
    dist, device = init_from_env("cpu")
    params = load_params(params_path)
    rows = stage_rows(read_manifest(manifest), 1, params.train.curriculum)
    torch.manual_seed(params.train.seed + 1)
    model, head, centres = start_point(params, 1, out / "none", class_order(rows))
    labels = head.index(rows["landmark"].tolist()).tolist()
    result = train_stage(model, head, centres, data_root, rows["path"].tolist(), labels, params.train,
                         params.train.stages[0], device, dist=dist)
    torch.save({"model": result.model.state_dict(), "head": result.head.state_dict(),
                "centres": result.centres, "history": result.history}, out / f"rank{dist.rank}.pt")
    shutdown()


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:5]))
