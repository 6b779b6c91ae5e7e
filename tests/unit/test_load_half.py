"""save_half / load_half: a round trip with torch.load(weights_only=True), and a pickle that would run
code is refused instead of executed."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from landmark.models.embedder import create_embedder
from landmark.params import load_params
from research.train_real import load_half, save_half
from tests.conftest import REPO


class _Payload:
    """Unpickling this would create a file (what a malicious checkpoint would do instead)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.target}",))


def test_round_trip_with_numpy_values_in_extra(tmp_path: Path) -> None:
    backbone = dataclasses.replace(load_params(REPO / "params.yaml").backbone, embed_dim=0, image_size=32)
    model = create_embedder(backbone, pretrained=False).eval()
    path = tmp_path / "m.half.pt"
    save_half(model, path, {"epochs": np.int64(2), "history": [{"loss": np.float32(0.5)}]})
    loaded = load_half(path)
    assert loaded.meta["extra"] == {"epochs": 2, "history": [{"loss": 0.5}]}
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(loaded(x), model.half().float()(x), atol=1e-3)


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    path, target = tmp_path / "evil.half.pt", tmp_path / "pwned"
    torch.save({"state": {}, "meta": {"x": _Payload(target)}}, path)
    with pytest.raises(ValueError, match=r"evil\.half\.pt: refused by torch.load\(weights_only=True\)"):
        load_half(path)
    assert not target.exists()
