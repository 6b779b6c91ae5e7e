"""Wall-clock timing for speed checks and benchmarks: the median of repeated calls after a warm-up."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def median_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """Seconds per call of `fn`: one warm-up call (lazy init, caches), then the median of `repeats`."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
