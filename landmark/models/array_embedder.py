"""The common surface of the exported embedders (ONNX Runtime, OpenVINO): numpy in, numpy out.

`embed_batch` maps (N, 3, H, W) float32 -> (N, D) float32, L2-normalised, like `Embedder.forward`.
The class also answers the small part of the torch module surface that the batch helpers use
(`__call__` on a tensor, `eval()`, `to()`, `state_dict()`, `data_config`, `embed_dim`, `meta`), so
`embedding.embed(fast_embedder(path), photos, ...)` works unchanged whatever runtime is behind it.

Streams: a batch of at least `streams` photos is split into `streams` chunks that run at the same
time, each on an engine with threads / streams threads (`_run_streams`), instead of one engine
whose ops are split over all threads (`_run`), where lite0's small depthwise ops leave threads
waiting on each other: on 2 cores 1.0-1.3x for ONNX Runtime, more for OpenVINO fp32
(docs/performance.md). Smaller batches
(one photo from `landmark recognize`) take the all-threads engine, which has the lower latency.

Concurrency: a served model calls `embed_batch` from many request threads at once. Engines that are
built on first use are built once under a lock, and every runtime call owns the output it returns
(ONNX Runtime sessions are safe for concurrent `run`; OpenVINO infer requests are not, so the
OpenVINO embedder hands each call requests of its own from a pool).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def cpu_cores() -> int:
    """Threads the runtimes use by default (`landmark.env.compute_threads`)."""
    from landmark.env import compute_threads

    return compute_threads()


class ArrayEmbedder:
    """Base of the runtime-backed embedders; subclasses implement `_run` on a checked batch."""

    runtime = "none"

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None,
                 threads: int, streams: int = 1) -> None:
        self.path = Path(path)
        self.data_config = dict(data_config)
        self.embed_dim = int(embed_dim)
        self.meta = dict(meta or {})
        self.threads = int(threads)
        if not 1 <= int(streams) <= self.threads:
            raise ValueError(f"streams must be in 1..threads ({self.threads}), got {streams}")
        self.streams = int(streams)
        self.stream_threads = self.threads // self.streams
        self._pool: ThreadPoolExecutor | None = None
        self._init_lock = threading.RLock()  # engines built on first use are built once

    def _run(self, x: np.ndarray) -> np.ndarray:
        """The whole batch on the engine that uses all `threads`."""
        raise NotImplementedError

    def _run_streams(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        """Each chunk on its own engine of `stream_threads`, all at once (subclasses with streams > 1).

        Default: one pool thread per chunk calling `_run_stream` (the runtime releases the GIL)."""
        with self._init_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.streams, thread_name_prefix=f"{self.runtime}-stream")
            pool = self._pool
        return list(pool.map(self._run_stream, range(len(chunks)), chunks))

    def _run_stream(self, stream: int, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def embed_batch(self, x: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> (N, D) float32, L2-normalised."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"embed_batch expects (N, 3, H, W), got {x.shape}")
        multiple = int(self.meta.get("size_multiple", 1))
        if x.shape[2] % multiple or x.shape[3] % multiple:
            raise ValueError(f"{self.path.name} is exact only for photo sizes divisible by {multiple} (its fixed "
                             f"'SAME' pads, see onnx_export): got {x.shape[2]}x{x.shape[3]}")
        if x.shape[0] == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        if self.streams > 1 and x.shape[0] >= self.streams:
            chunks = [np.ascontiguousarray(c) for c in np.array_split(x, self.streams)]
            return np.concatenate([np.asarray(y, dtype=np.float32) for y in self._run_streams(chunks)])
        return np.asarray(self._run(x), dtype=np.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Torch-compatible call: (N, 3, H, W) tensor -> (N, D) float32 tensor, L2-normalised."""
        import torch

        return torch.from_numpy(self.embed_batch(x.detach().cpu().float().numpy()))

    def eval(self) -> ArrayEmbedder:
        return self

    def to(self, device: str | torch.device) -> ArrayEmbedder:
        import torch

        if torch.device(device).type != "cpu":
            raise ValueError(f"{type(self).__name__} runs on the CPU only, not {device}")
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        """No torch tensors: `meta` carries the source model's identity and the variant instead,
        so `embedding_cache.model_identity` (meta + tensors) still separates models and variants."""
        return {}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.path.name}, D={self.embed_dim}, threads={self.threads}, "
                f"streams={self.streams})")
