"""The embedder on OpenVINO's CPU plugin, compiled from the checked fp32 ONNX export.

Two precisions: "f32" (the same numbers as torch, like ONNX Runtime fp32) and "bf16" (weights and
activations in bfloat16 on CPUs with AVX-512 BF16 or AMX; about 2x fp32 on this project's CPU, see
docs/performance.md). bf16 changes the numbers slightly, so `fast_embedder` uses it only after its
accuracy check on labelled photos passed (like int8). On a CPU without bf16 units OpenVINO runs
f32 instead, and the measured speed-up keeps `auto` from choosing it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from landmark.models.array_embedder import ArrayEmbedder, cpu_cores

log = logging.getLogger(__name__)

PRECISIONS = ("f32", "bf16")


class _SignalStack(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]


@contextlib.contextmanager
def keep_signal_stack() -> Iterator[None]:
    """Restore the calling thread's alternate signal stack after the block.

    Compiling a model makes OpenVINO install an alternate signal stack of its own on the calling
    thread, and it puts back the one it saved when that model is destroyed. With several models
    destroyed out of order, the thread is left with a freed stack; the next signal delivered to a
    Python handler (SIGCHLD from a finished child process, with torch's DataLoader handler
    installed) then kills the process with SIGSEGV (seen in the test suite). Python's own stack
    (faulthandler's) is kept in place instead.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        saved = _SignalStack()
        ok = libc.sigaltstack(None, ctypes.byref(saved)) == 0
    except (OSError, AttributeError):  # pragma: no cover - not Linux / no sigaltstack
        ok = False
    try:
        yield
    finally:
        if ok:
            libc.sigaltstack(ctypes.byref(saved), None)


class OpenVinoEmbedder(ArrayEmbedder):
    """An fp32 ONNX export compiled by OpenVINO for the CPU at `precision`.

    Small batches run on a model compiled for latency (one stream over all threads); batches of at
    least `streams` photos (default: one stream per thread) on a model compiled for throughput with
    that many streams, one chunk per stream at once (see ArrayEmbedder), compiled on first use. Like
    the single request before, the stream requests serve one caller at a time (not thread-safe).
    """

    runtime = "openvino"

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None = None,
                 precision: str = "f32", threads: int | None = None, streams: int | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        threads = int(threads or cpu_cores())
        super().__init__(path, data_config, embed_dim, meta, threads, threads if streams is None else streams)
        self.precision = precision
        self.request = self._compile("LATENCY", 1)[0]
        self._stream_requests: list[Any] = []

    def _compile(self, hint: str, streams: int) -> list[Any]:
        """Infer requests (one per stream) of the model compiled for `hint`; each keeps its model alive."""
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": self.precision,
                                  "INFERENCE_NUM_THREADS": self.threads, "ENABLE_CPU_PINNING": False}
        if hint == "THROUGHPUT":
            config["NUM_STREAMS"] = streams
        with keep_signal_stack():
            compiled = ov.Core().compile_model(str(self.path), "CPU", config)
            return [compiled.create_infer_request() for _ in range(streams)]

    def _run(self, x: np.ndarray) -> np.ndarray:
        # the request's output buffer is reused by the next call: hand out a copy
        return np.array(self.request.infer({0: x}).to_tuple()[0], dtype=np.float32, copy=True)

    def _run_streams(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        if not self._stream_requests:
            self._stream_requests = self._compile("THROUGHPUT", self.streams)
        for request, chunk in zip(self._stream_requests, chunks, strict=True):
            request.start_async({0: chunk})
        for request in self._stream_requests:
            request.wait()
        return [np.array(r.get_output_tensor(0).data, dtype=np.float32, copy=True) for r in self._stream_requests]
