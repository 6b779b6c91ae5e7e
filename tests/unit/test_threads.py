"""Thread counts: LANDMARK_THREADS or the process's cores, shared by the processes of one machine."""

from __future__ import annotations

import os

import pytest

from landmark.env import THREADS_ENV, compute_threads, threads_per_process


def test_threads_env_wins_and_is_shared_between_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "8")
    assert compute_threads() == 8
    assert [threads_per_process(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_default_is_the_affinity_and_a_bad_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert compute_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(THREADS_ENV, "0")
    with pytest.raises(ValueError, match=THREADS_ENV):
        compute_threads()
