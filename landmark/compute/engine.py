"""The compute engine a stage's heavy steps run on: this process ("local") or Dask distributed ("dask").

`open_engine(ComputeParams)` starts a LocalCluster of `workers` processes (empty `address`) or connects
to a running scheduler, makes the engine *active* for the block (a ContextVar, so library code that
fans out -- `map_items`, landmark.compute.distributed_embed -- needs no engine argument threaded
through every signature) and closes what it started on exit. Outside any block the engine is local.

Work is always split into deterministic, contiguous chunks and gathered back by position, so a chunk
whose worker dies is simply rerun by Dask elsewhere (its key is recomputed from the same inputs) and
the output holds every item exactly once, in input order.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from landmark.env import THREADS_ENV, threads_per_process
from landmark.params import ComputeParams

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
CHUNKS_PER_WORKER = 4  # a few chunks per worker: a slow or lost worker holds back little of the work


@dataclass
class Engine:
    """Where work runs. client None: in this process; else the Dask client of `workers` workers."""

    kind: str
    workers: int
    client: Client | None = None
    shared: dict[str, Future] = field(default_factory=dict)  # values sent to every worker once, by key

    @property
    def distributed(self) -> bool:
        return self.client is not None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """[fn(x) for x in items], in order; on Dask as contiguous chunks, one task each."""
        if self.client is None or len(items) <= 1:
            return [fn(x) for x in items]
        bounds = chunk_bounds(len(items), CHUNKS_PER_WORKER * self.workers)
        futures = [self.client.submit(_apply_all, fn, list(items[a:b]), pure=False) for a, b in bounds]
        results: list[R] = [r for chunk in self.client.gather(futures) for r in chunk]
        if len(results) != len(items):  # a chunk lost or doubled would break every later row
            raise RuntimeError(f"engine map: {len(results)} results for {len(items)} items")
        return results

    def share(self, key: str, value: Any) -> Future:
        """`value` on every worker (broadcast once per engine and key); tasks take the returned future."""
        if self.client is None:
            raise RuntimeError("share needs a distributed engine")
        if key not in self.shared:
            self.shared[key] = self.client.scatter(value, broadcast=True, hash=False)
        return self.shared[key]


def _apply_all(fn: Callable[[T], R], items: list[T]) -> list[R]:
    return [fn(x) for x in items]


def chunk_bounds(n: int, chunks: int, multiple: int = 1) -> list[tuple[int, int]]:
    """[(start, stop)] covering range(n) in order: at most `chunks` contiguous pieces, each a multiple
    of `multiple` long (but the last), none empty. Depends only on its arguments."""
    if n <= 0:
        return []
    per = -(-n // max(1, chunks))
    per = -(-per // multiple) * multiple
    return [(a, min(a + per, n)) for a in range(0, n, per)]


LOCAL = Engine("local", 1)
_ACTIVE: ContextVar[Engine] = ContextVar("landmark_compute_engine", default=LOCAL)


def active_engine() -> Engine:
    """The engine of the innermost open_engine / activate block; the local one outside any."""
    return _ACTIVE.get()


@contextlib.contextmanager
def activate(engine: Engine) -> Iterator[Engine]:
    """Make `engine` the active one inside the block."""
    token = _ACTIVE.set(engine)
    try:
        yield engine
    finally:
        _ACTIVE.reset(token)


def map_items(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """[fn(x) for x in items] on the active engine (per-landmark cleaning graphs, centroid clustering).
    fn must be picklable (a module-level function or a functools.partial of one)."""
    return active_engine().map(fn, items)


def _thread_env(threads: int) -> dict[str, str]:
    """Worker process environment: our threads setting, and the OpenMP / BLAS pools sized to match
    (Dask's nanny would otherwise start every worker with OMP_NUM_THREADS=1)."""
    return {THREADS_ENV: str(threads), **{k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                                     "OPENBLAS_NUM_THREADS")}}


@contextlib.contextmanager
def open_engine(params: ComputeParams) -> Iterator[Engine]:
    """The engine of params.yaml `compute`, active inside the block; a LocalCluster it started is closed."""
    if params.engine == "local":
        with activate(LOCAL):
            yield LOCAL
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if params.address:
            client = stack.enter_context(Client(params.address, timeout="30s"))
            workers = max(1, len(client.scheduler_info()["workers"]))
            log.info("dask: connected to %s (%d workers)", params.address, workers)
        else:
            workers = params.workers
            # one task at a time per process; its torch / ORT threads come from LANDMARK_THREADS
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, env=_thread_env(threads_per_process(workers)),
                silence_logs=logging.WARNING,
            ))
            client = stack.enter_context(Client(cluster))
            client.wait_for_workers(workers, timeout=120)
            log.info("dask: LocalCluster of %d worker processes at %s", workers, cluster.scheduler_address)
        with activate(Engine("dask", workers, client)) as engine:
            yield engine
