"""params.yaml `compute` and the engine's deterministic shards (no cluster started here)."""

from __future__ import annotations

import pytest
import yaml

from landmark.compute.distributed_embed import MAX_SHARD_PHOTOS, shard_bounds
from landmark.compute.engine import LOCAL, active_engine, chunk_bounds, map_items, open_engine
from landmark.params import ComputeParams, ParamsError, parse_params


def test_params_yaml_keeps_the_local_default(repo_dir) -> None:
    raw = yaml.safe_load((repo_dir / "params.yaml").read_text())
    assert parse_params(raw).compute == ComputeParams(engine="local", address="", workers=2)


@pytest.mark.parametrize(("engine", "workers", "message"), [("ray", 2, "compute.engine must be one of"),
                                                            ("dask", 0, "compute.workers must be >= 1")])
def test_bad_compute_params_are_named(repo_dir, engine: str, workers: int, message: str) -> None:
    raw = yaml.safe_load((repo_dir / "params.yaml").read_text())
    raw["compute"] = {"engine": engine, "address": "", "workers": workers}
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)


@pytest.mark.parametrize(("n", "chunks", "multiple"), [(10, 3, 1), (10, 3, 4), (7, 10, 1), (1, 4, 32), (100, 8, 16)])
def test_chunks_cover_every_item_once_in_order(n: int, chunks: int, multiple: int) -> None:
    bounds = chunk_bounds(n, chunks, multiple)
    assert bounds[0][0] == 0 and bounds[-1][1] == n and len(bounds) <= chunks
    assert all(a < b for a, b in bounds) and all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:], strict=False))
    assert all((b - a) % multiple == 0 for a, b in bounds[:-1])
    assert chunk_bounds(0, chunks, multiple) == []


def test_shards_are_whole_batches_and_bounded() -> None:
    assert shard_bounds(100, 16, 2) == [(0, 16), (16, 32), (32, 48), (48, 64), (64, 80), (80, 96), (96, 100)]
    big = shard_bounds(10 * MAX_SHARD_PHOTOS + 5, 32, 2)
    assert max(b - a for a, b in big) <= MAX_SHARD_PHOTOS + 32 and big[-1][1] == 10 * MAX_SHARD_PHOTOS + 5


def test_local_engine_is_the_default_and_maps_in_order() -> None:
    assert active_engine() is LOCAL
    with open_engine(ComputeParams(engine="local", address="", workers=3)) as engine:
        assert engine is LOCAL and active_engine() is LOCAL
        assert map_items(abs, [-3, 1, -2]) == [3, 1, 2]
