"""Training checkpoints written atomically (tmp file + os.replace) and read with weights_only=True.

One file, `checkpoints/last.pt`, holds everything to continue a stage after the last finished epoch:
model, head, centres, optimizer, scheduler, RNG states, epoch, metric history.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

LAST = "last.pt"


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to `path` so that a reader never sees a half-written file (even after kill -9)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def rng_state() -> dict[str, Any]:
    """torch, python and numpy global RNG states (tensors and plain values only)."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": repr(random.getstate()),
    }
    legacy = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state(legacy=True))
    state["numpy"] = torch.from_numpy(legacy[1].astype(np.int64))
    state["numpy_pos"] = int(legacy[2])
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` captured (python's state from its repr, numpy's key array)."""
    torch.set_rng_state(state["torch"])
    import ast

    random.setstate(ast.literal_eval(state["python"]))
    np.random.set_state(
        ("MT19937", state["numpy"].numpy().astype(np.uint32), int(state["numpy_pos"]), 0, 0.0)
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The last checkpoint in `folder`, or None when there is none."""
    path = Path(folder) / LAST
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)
