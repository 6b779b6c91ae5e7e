"""The common surface of the exported embedders (ONNX Runtime, OpenVINO): numpy in, numpy out.

`embed_batch` maps (N, 3, H, W) float32 -> (N, D) float32, L2-normalised, like `Embedder.forward`.
The class also answers the small part of the torch module surface that the batch helpers use
(`__call__` on a tensor, `eval()`, `to()`, `state_dict()`, `data_config`, `embed_dim`, `meta`), so
`embed_images(fast_embedder(path), photos)` works unchanged whatever runtime is behind it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


def cpu_cores() -> int:
    """Cores this process may run on (affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class ArrayEmbedder:
    """Base of the runtime-backed embedders; subclasses implement `_run` on a checked batch."""

    runtime = "none"

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None,
                 threads: int) -> None:
        self.path = Path(path)
        self.data_config = dict(data_config)
        self.embed_dim = int(embed_dim)
        self.meta = dict(meta or {})
        self.threads = int(threads)

    def _run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def embed_batch(self, x: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> (N, D) float32, L2-normalised."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"embed_batch expects (N, 3, H, W), got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.asarray(self._run(x), dtype=np.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Torch-compatible call: (N, 3, H, W) tensor -> (N, D) float32 tensor, L2-normalised."""
        return torch.from_numpy(self.embed_batch(x.detach().cpu().float().numpy()))

    def eval(self) -> ArrayEmbedder:
        return self

    def to(self, device: str | torch.device) -> ArrayEmbedder:
        if torch.device(device).type != "cpu":
            raise ValueError(f"{type(self).__name__} runs on the CPU only, not {device}")
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        """No torch tensors: `meta` carries the source model's identity and the variant instead,
        so `extract.model_identity` (meta + tensors) still separates models and variants."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path.name}, D={self.embed_dim}, threads={self.threads})"
