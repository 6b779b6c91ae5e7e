"""The embedder on ONNX Runtime's CPU provider: an exported network, numpy in, numpy out (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from landmark.models.array_embedder import ArrayEmbedder, cpu_cores


class OnnxEmbedder(ArrayEmbedder):
    """An exported embedder on ONNX Runtime's CPU provider.

    threads: intra-op threads (default: the cores this process may use). streams (default: one per
    thread): batches of at least `streams` photos run as that many chunks at once, each on its own
    session (see ArrayEmbedder); smaller ones on the all-threads session. spinning: idle ORT threads
    busy-wait for the next op; faster for the network alone at 128 px, but it steals the cores from
    decode threads running beside it, so it is off by default.
    """

    runtime = "onnxruntime"

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None = None,
                 threads: int | None = None, spinning: bool = False, streams: int | None = None) -> None:
        threads = int(threads or cpu_cores())
        super().__init__(path, data_config, embed_dim, meta, threads, threads if streams is None else streams)
        self.spinning = spinning
        self.session = self._session(self.threads)
        self.input_name = self.session.get_inputs()[0].name
        self._stream_sessions: list[Any] = []

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its recipe (sessions do not pickle): unpickling, e.g. on a Dask worker, opens the
        file again at its absolute path, with that process's threads (landmark.env.compute_threads)."""
        return (OnnxEmbedder, (self.path.absolute(), self.data_config, self.embed_dim, self.meta, None,
                               self.spinning, None))

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def _run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input_name: x})[0])

    def _run_stream(self, stream: int, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._stream_sessions[stream].run(None, {self.input_name: x})[0])

    def _run_streams(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        with self._init_lock:  # built once, on the first batch that needs them
            if not self._stream_sessions:
                self._stream_sessions = [self._session(self.stream_threads) for _ in range(self.streams)]
        return super()._run_streams(chunks)
