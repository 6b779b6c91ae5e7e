"""The sample world (`python -m samples`): a deterministic synthetic world of landmarks and ordinary photos.

Layout written under `out_dir`:
    images/<landmark or non_landmark>/<image_id>.jpg   JPEG quality 90, image_size x image_size
    manifest.csv      image_id,path,landmark,lat,lon,city,viewpoint (the filed, possibly wrong, label)
    noise_truth.csv   image_id,filed_landmark,true_landmark for every mislabelled photo
    landmarks.csv     landmark,city,lat,lon,n_viewpoints,difficulty,archetype,trait,viewpoints
    sample_summary.json   the SampleSummary

Every photo is drawn from its own Generator seeded by (seed, photo index), so the bytes do not
depend on the number of worker processes or the order in which they finish.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.data.manifest import MANIFEST_NAME, NOISE_TRUTH_NAME, NON_LANDMARK, write_manifest
from landmark.params import SampleParams
from samples.render.photo import landmark_photo
from samples.render.plan import PhotoTask, plan_world
from samples.render.scenes import non_landmark_photo
from samples.render.specs import LandmarkSpec, make_landmark_specs
from samples.render.views import ViewCache

log = logging.getLogger(__name__)

LANDMARKS_NAME = "landmarks.csv"
SUMMARY_NAME = "sample_summary.json"
JPEG_QUALITY = 90


@dataclass(frozen=True)
class SampleSummary:
    """Counts of a generated world (also written to sample_summary.json)."""

    seed: int
    image_size: int
    n_landmarks: int
    n_cities: int
    n_landmark_photos: int  # filed under a landmark, mislabelled ones included
    n_mislabelled: int
    n_mislabelled_non_landmark: int  # mislabelled photos that show no landmark at all
    n_non_landmark: int
    n_ordinary_building: int
    n_images: int
    n_views: int  # (landmark, viewpoint) pairs


class _Worker:
    """Per-process drawing state: the landmark specs and the canonical views drawn so far."""

    specs: list[LandmarkSpec] = []
    cache: ViewCache | None = None
    out_dir: Path = Path()
    seed: int = 0
    size: int = 0


def _init_worker(out_dir: Path, n_landmarks: int, seed: int, size: int) -> None:
    _Worker.specs = make_landmark_specs(n_landmarks, seed)
    _Worker.cache = ViewCache(_Worker.specs, 2 * size)
    _Worker.out_dir, _Worker.seed, _Worker.size = out_dir, seed, size


def _draw(task: PhotoTask) -> str:
    """Draw one photo and write its JPEG; returns its image_id."""
    rng = np.random.default_rng([_Worker.seed, task.index, 11])
    if task.landmark_index >= 0:
        assert _Worker.cache is not None
        spec = _Worker.specs[task.landmark_index]
        view = _Worker.cache.get(task.landmark_index, task.viewpoint)
        image = landmark_photo(spec, task.viewpoint, view, _Worker.size, rng)
    else:
        image = non_landmark_photo(task.viewpoint, _Worker.size, rng)
    path = _Worker.out_dir / task.path
    image.save(path, format="JPEG", quality=JPEG_QUALITY)
    return task.image_id


def _run(tasks: list[PhotoTask], workers: int, init_args: tuple, progress: bool) -> Iterator[str]:
    if workers <= 1:
        _init_worker(*init_args)
        results: Iterable[str] = map(_draw, tasks)
    else:
        context = multiprocessing.get_context("fork")
        pool = context.Pool(workers, initializer=_init_worker, initargs=init_args)
        results = pool.imap(_draw, tasks, chunksize=32)
    if progress:
        from rich.progress import track

        results = track(results, total=len(tasks), description="drawing the sample world")
    try:
        yield from results
    finally:
        if workers > 1:
            pool.close()
            pool.join()


def _landmarks_table(specs: list[LandmarkSpec]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "landmark": s.name,
                "city": s.city,
                "lat": s.lat,
                "lon": s.lon,
                "n_viewpoints": len(s.viewpoints),
                "difficulty": s.difficulty,
                "archetype": s.archetype,
                "trait": s.trait,
                "viewpoints": "|".join(s.viewpoints),
            }
            for s in specs
        ]
    )


def _clear(out_dir: Path) -> None:
    shutil.rmtree(out_dir / "images", ignore_errors=True)
    for name in (MANIFEST_NAME, NOISE_TRUTH_NAME, LANDMARKS_NAME, SUMMARY_NAME):
        (out_dir / name).unlink(missing_ok=True)


def generate_sample_world(
    out_dir: Path, params: SampleParams, progress: bool = False, overwrite: bool = False
) -> SampleSummary:
    """Draw the whole world into `out_dir` (see the module docstring for the layout).

    Raises FileExistsError when `out_dir/images` already holds files and `overwrite` is False;
    with `overwrite`, only the files this function writes are removed first.
    """
    out_dir = Path(out_dir)
    if (out_dir / "images").is_dir() and any((out_dir / "images").iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out_dir / 'images'} is not empty; pass overwrite=True to replace it")
        _clear(out_dir)
    specs = make_landmark_specs(params.n_landmarks, params.seed)
    tasks = plan_world(
        specs,
        params.photos_per_landmark,
        params.mislabel_fraction,
        params.mislabel_non_landmark_share,
        params.n_non_landmark,
        params.ordinary_building_share,
        params.seed,
    )
    for folder in sorted({str(Path(t.path).parent) for t in tasks}):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    log.info("drawing %d photos of %d landmarks with %d process(es)", len(tasks), len(specs), params.workers)
    init_args = (out_dir, params.n_landmarks, params.seed, params.image_size)
    done = sum(1 for _ in _run(tasks, max(1, params.workers), init_args, progress))
    if done != len(tasks):
        raise RuntimeError(f"drew {done} of {len(tasks)} photos")
    manifest = pd.DataFrame(
        [
            {
                "image_id": t.image_id,
                "path": t.path,
                "landmark": t.filed,
                "lat": t.lat,
                "lon": t.lon,
                "city": t.city,
                "viewpoint": t.viewpoint,
            }
            for t in tasks
        ]
    )
    write_manifest(manifest, out_dir / MANIFEST_NAME)
    noise = [t for t in tasks if t.filed != NON_LANDMARK and t.truth != t.filed]
    pd.DataFrame(
        {
            "image_id": [t.image_id for t in noise],
            "filed_landmark": [t.filed for t in noise],
            "true_landmark": [t.truth for t in noise],
        }
    ).to_csv(out_dir / NOISE_TRUTH_NAME, index=False)
    _landmarks_table(specs).to_csv(out_dir / LANDMARKS_NAME, index=False)
    summary = SampleSummary(
        seed=params.seed,
        image_size=params.image_size,
        n_landmarks=len(specs),
        n_cities=len({s.city for s in specs}),
        n_landmark_photos=sum(t.filed != NON_LANDMARK for t in tasks),
        n_mislabelled=len(noise),
        n_mislabelled_non_landmark=sum(t.truth == NON_LANDMARK for t in noise),
        n_non_landmark=sum(t.filed == NON_LANDMARK for t in tasks),
        n_ordinary_building=sum(
            t.filed == NON_LANDMARK and t.viewpoint == "ordinary_building" for t in tasks
        ),
        n_images=len(tasks),
        n_views=sum(len(s.viewpoints) for s in specs),
    )
    (out_dir / SUMMARY_NAME).write_text(json.dumps(asdict(summary), indent=2) + "\n")
    log.info("sample world written to %s: %s", out_dir, summary)
    return summary
