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
import queue
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


class _RequestPool:
    """Idle infer requests of one compiled model; a caller takes `n`, uses them alone, gives them back.

    An OpenVINO infer request owns its input and output tensors and must not serve two calls at
    once (two threads on one request swap each other's outputs). The pool creates a request when
    none is idle, so it grows to the largest number of concurrent calls and no caller ever waits
    for another's request; the compiled model schedules all of them on its streams.
    """

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()

    @contextlib.contextmanager
    def take(self, n: int) -> Iterator[list[Any]]:
        requests = []
        for _ in range(n):
            try:
                requests.append(self._idle.get_nowait())
            except queue.Empty:
                with keep_signal_stack():
                    requests.append(self.compiled.create_infer_request())
        try:
            yield requests
        finally:
            for request in requests:
                self._idle.put(request)


class OpenVinoEmbedder(ArrayEmbedder):
    """An fp32 ONNX export compiled by OpenVINO for the CPU at `precision`.

    Small batches run on a model compiled for latency (one stream over all threads); batches of at
    least `streams` photos (default: one stream per thread) on a model compiled for throughput with
    that many streams, one chunk per stream at once (see ArrayEmbedder), compiled on first use. Each
    call takes infer requests of its own from a pool, so concurrent callers are safe.
    """

    runtime = "openvino"

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None = None,
                 precision: str = "f32", threads: int | None = None, streams: int | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        threads = int(threads or cpu_cores())
        super().__init__(path, data_config, embed_dim, meta, threads, threads if streams is None else streams)
        self.precision = precision
        self._latency = _RequestPool(self._compile("LATENCY", 1))
        self._throughput: _RequestPool | None = None

    def _compile(self, hint: str, streams: int) -> Any:
        """The model compiled for `hint` (LATENCY: one stream; THROUGHPUT: `streams` streams)."""
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": self.precision,
                                  "INFERENCE_NUM_THREADS": self.threads, "ENABLE_CPU_PINNING": False}
        if hint == "THROUGHPUT":
            config["NUM_STREAMS"] = streams
        with keep_signal_stack():
            return ov.Core().compile_model(str(self.path), "CPU", config)

    def _run(self, x: np.ndarray) -> np.ndarray:
        with self._latency.take(1) as (request,):
            # the request's output buffer is reused by its next call: hand out a copy
            return np.array(request.infer({0: x}).to_tuple()[0], dtype=np.float32, copy=True)

    def _run_streams(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        with self._init_lock:
            if self._throughput is None:
                self._throughput = _RequestPool(self._compile("THROUGHPUT", self.streams))
            pool = self._throughput
        with pool.take(len(chunks)) as requests:
            for request, chunk in zip(requests, chunks, strict=True):
                request.start_async({0: chunk})
            for request in requests:
                request.wait()
            return [np.array(r.get_output_tensor(0).data, dtype=np.float32, copy=True) for r in requests]
