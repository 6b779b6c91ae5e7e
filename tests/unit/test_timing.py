"""median_seconds: one warm-up call, then the median of the timed ones."""

from __future__ import annotations

import pytest

from landmark.timing import median_seconds


def test_warm_up_then_median_of_repeats() -> None:
    calls: list[int] = []
    seconds = median_seconds(lambda: calls.append(1), repeats=4)
    assert len(calls) == 5 and 0.0 <= seconds < 1.0


def test_repeats_must_be_positive() -> None:
    with pytest.raises(ValueError, match="repeats"):
        median_seconds(lambda: None, repeats=0)
