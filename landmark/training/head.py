"""A classifier over (non-landmark + landmark classes) that grows with new classes, keeping what it learned.

Class 0 is always the non-landmark class; landmark classes follow in the order they were added.
The weight is stored as (D, C * k) (pytorch-metric-learning's layout, k sub-centres per class, the
sub-centres of class j in columns j*k .. j*k+k-1), so ArcFace losses can share it directly; the
softmax variants use it as a linear layer with a bias.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from landmark.data.manifest import NON_LANDMARK


class GrowingHead(torch.nn.Module):
    """Linear / cosine classifier with named classes. weight: (D, C*k); bias: (C,)."""

    def __init__(self, classes: list[str], dim: int, sub_centers: int = 1, seed: int = 0) -> None:
        super().__init__()
        if not classes or classes[0] != NON_LANDMARK:
            raise ValueError(f"the first class must be {NON_LANDMARK!r}, got {classes[:1]}")
        if len(set(classes)) != len(classes):
            raise ValueError("class names must be unique")
        self.classes = list(classes)
        self.dim = dim
        self.sub_centers = sub_centers
        generator = torch.Generator().manual_seed(seed)
        self.weight = torch.nn.Parameter(self._init_columns(len(classes) * sub_centers, generator))
        self.bias = torch.nn.Parameter(torch.zeros(len(classes)))

    def _init_columns(self, n: int, generator: torch.Generator) -> torch.Tensor:
        bound = 1.0 / self.dim**0.5  # nn.Linear's default range
        return (torch.rand(self.dim, n, generator=generator) * 2 - 1) * bound

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def index(self, names: list[str]) -> torch.Tensor:
        """(N,) int64 class indices of landmark names; KeyError names an unknown class."""
        lookup = {name: i for i, name in enumerate(self.classes)}
        return torch.tensor([lookup[name] for name in names], dtype=torch.long)

    def logits(self, raw: torch.Tensor) -> torch.Tensor:
        """Softmax logits (N, C) of unnormalised embeddings (N, D); sub-centres reduced by max."""
        scores = raw @ self.weight
        if self.sub_centers > 1:
            scores = scores.view(-1, self.num_classes, self.sub_centers).amax(dim=2)
        return scores + self.bias

    def cosine(self, normalised: torch.Tensor) -> torch.Tensor:
        """Cosine similarity (N, C) of L2-normalised embeddings to each class's nearest sub-centre."""
        w = torch.nn.functional.normalize(self.weight, dim=0)
        scores = normalised @ w
        return scores.view(-1, self.num_classes, self.sub_centers).amax(dim=2)

    @torch.no_grad()
    def grow(self, new_classes: list[str], seed: int = 0) -> GrowingHead:
        """A new head with the classes of this one (same rows, same values) followed by the unseen
        names of `new_classes` (fresh random columns, zero bias)."""
        added = [c for c in dict.fromkeys(new_classes) if c not in set(self.classes)]
        grown = GrowingHead(self.classes + added, self.dim, self.sub_centers, seed=seed)
        old_cols = self.num_classes * self.sub_centers
        grown.weight[:, :old_cols] = self.weight.detach().to(grown.weight.device)
        grown.bias[: self.num_classes] = self.bias.detach()
        return grown.to(self.weight.device)

    def save(self, path: Path) -> None:
        """head.pt (state dict) + classes.json next to it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in self.state_dict().items()}, path)
        meta = {"classes": self.classes, "dim": self.dim, "sub_centers": self.sub_centers}
        path.with_name("classes.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, path: Path, device: str | torch.device = "cpu") -> GrowingHead:
        """Read a head written by `save` (weights_only torch.load)."""
        path = Path(path)
        meta = json.loads(path.with_name("classes.json").read_text())
        head = cls(meta["classes"], int(meta["dim"]), int(meta["sub_centers"]))
        head.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return head.to(device)
