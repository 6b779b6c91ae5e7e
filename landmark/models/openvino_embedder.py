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
    """An fp32 ONNX export compiled by OpenVINO for the CPU at `precision` (latency hint, one stream)."""

    runtime = "openvino"

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None = None,
                 precision: str = "f32", threads: int | None = None) -> None:
        import openvino as ov

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        super().__init__(path, data_config, embed_dim, meta, int(threads or cpu_cores()))
        self.precision = precision
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision,
                  "INFERENCE_NUM_THREADS": self.threads, "ENABLE_CPU_PINNING": False}
        with keep_signal_stack():
            self.compiled = ov.Core().compile_model(str(self.path), "CPU", config)
            self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output(0)

    def _run(self, x: np.ndarray) -> np.ndarray:
        # the request's output buffer is reused by the next call: hand out a copy
        return np.array(self.request.infer({0: x})[self.output], dtype=np.float32, copy=True)
