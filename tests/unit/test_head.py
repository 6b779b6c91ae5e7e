"""The growing head keeps the learned rows exactly and stores its class names."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from landmark.data.manifest import NON_LANDMARK
from landmark.training.head import GrowingHead


@pytest.mark.parametrize("k", [1, 3])
def test_grow_keeps_old_weights_exactly(k: int) -> None:
    head = GrowingHead([NON_LANDMARK, "a", "b"], dim=5, sub_centers=k, seed=1)
    with torch.no_grad():
        head.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
    grown = head.grow(["b", "c", "d", "c"], seed=2)
    assert grown.classes == [NON_LANDMARK, "a", "b", "c", "d"]
    assert grown.weight.shape == (5, 5 * k)
    assert torch.equal(grown.weight[:, : 3 * k], head.weight)
    assert torch.equal(grown.bias[:3], head.bias)
    assert torch.equal(grown.bias[3:], torch.zeros(2))
    x = torch.randn(4, 5)
    assert torch.allclose(grown.logits(x)[:, :3], head.logits(x))


def test_non_landmark_class_must_come_first() -> None:
    with pytest.raises(ValueError):
        GrowingHead(["a", NON_LANDMARK], dim=3)


def test_save_load_round_trip(tmp_path: Path) -> None:
    head = GrowingHead([NON_LANDMARK, "x"], dim=3, sub_centers=2, seed=4)
    head.save(tmp_path / "head.pt")
    back = GrowingHead.load(tmp_path / "head.pt")
    assert back.classes == head.classes and back.sub_centers == 2
    assert torch.equal(back.weight, head.weight)
    assert back.index(["x", NON_LANDMARK]).tolist() == [1, 0]
