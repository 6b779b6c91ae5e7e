"""The embedded sample world: deterministic, counts as asked, truth consistent, images usable."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landmark.data.contact_sheet import render_contact_sheet
from landmark.data.images import load_rgb
from landmark.data.manifest import NON_LANDMARK, read_manifest
from landmark.params import SampleParams
from samples.render.photo import landmark_photo
from samples.render.specs import make_landmark_specs
from samples.render.views import ViewCache
from samples.world import generate_sample_world

TINY = SampleParams(
    seed=3,
    n_landmarks=4,
    photos_per_landmark=6,
    image_size=64,
    mislabel_fraction=0.15,
    mislabel_non_landmark_share=0.25,
    n_non_landmark=20,
    ordinary_building_share=0.4,
    workers=1,
)


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".png"
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_sample_world(out, TINY)
    return out


def test_counts_match_params(world: Path) -> None:
    manifest = read_manifest(world / "manifest.csv")
    summary = json.loads((world / "sample_summary.json").read_text())
    n_landmark = TINY.n_landmarks * TINY.photos_per_landmark
    assert len(manifest) == summary["n_images"] == n_landmark + TINY.n_non_landmark
    assert (manifest["landmark"] == NON_LANDMARK).sum() == TINY.n_non_landmark == summary["n_non_landmark"]
    assert manifest.loc[manifest["landmark"] != NON_LANDMARK, "landmark"].value_counts().tolist() == [6] * 4
    assert summary["n_ordinary_building"] == round(TINY.n_non_landmark * TINY.ordinary_building_share)
    assert list(manifest.columns[:7]) == ["image_id", "path", "landmark", "lat", "lon", "city", "viewpoint"]
    assert manifest["image_id"].is_unique
    files = {str(p.relative_to(world)) for p in (world / "images").rglob("*.jpg")}
    assert files == set(manifest["path"])
    for path, label in zip(manifest["path"], manifest["landmark"], strict=True):
        assert path.split("/")[1] == ("non_landmark" if label == NON_LANDMARK else label)


def test_noise_truth_is_consistent_with_manifest(world: Path) -> None:
    manifest = read_manifest(world / "manifest.csv").set_index("image_id")
    truth = pd.read_csv(world / "noise_truth.csv", dtype=str, keep_default_na=False)
    names = set(pd.read_csv(world / "landmarks.csv")["landmark"])
    assert list(truth.columns) == ["image_id", "filed_landmark", "true_landmark"]
    assert len(truth) == round(TINY.mislabel_fraction * TINY.n_landmarks * TINY.photos_per_landmark)
    assert (
        manifest.loc[truth["image_id"], "landmark"].to_numpy() == truth["filed_landmark"].to_numpy()
    ).all()
    assert (truth["filed_landmark"] != truth["true_landmark"]).all()
    assert set(truth["true_landmark"]) <= names | {NON_LANDMARK}
    assert set(truth["filed_landmark"]) <= names


def test_every_landmark_has_two_or_three_viewpoints(world: Path) -> None:
    landmarks = pd.read_csv(world / "landmarks.csv")
    assert set(landmarks["n_viewpoints"]) <= {2, 3}
    manifest = read_manifest(world / "manifest.csv")
    noisy = set(pd.read_csv(world / "noise_truth.csv", dtype=str)["image_id"])
    clean = manifest[(manifest["landmark"] != NON_LANDMARK) & ~manifest["image_id"].isin(noisy)]
    for row in landmarks.itertuples():
        allowed = set(row.viewpoints.split("|"))
        assert len(allowed) == row.n_viewpoints and "outside" in allowed and "detail" in allowed
        assert set(clean.loc[clean["landmark"] == row.landmark, "viewpoint"]) <= allowed
        assert 0.0 <= row.difficulty <= 1.0


def test_images_decode_at_the_asked_size(world: Path) -> None:
    manifest = read_manifest(world / "manifest.csv")
    for rel in manifest["path"]:
        image = load_rgb(world / rel)
        assert image.size == (TINY.image_size, TINY.image_size)
    pixels = np.stack([np.asarray(load_rgb(world / rel), dtype=np.float32) for rel in manifest["path"][:10]])
    assert pixels.std() > 20.0  # not blank


def test_same_seed_same_bytes_any_worker_count_other_seed_differs(world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_sample_world(again, dataclasses.replace(TINY, workers=2))
    assert _hashes(again) == _hashes(world)
    other = tmp_path / "other"
    generate_sample_world(other, dataclasses.replace(TINY, seed=4))
    assert _hashes(other) != _hashes(world)
    with pytest.raises(FileExistsError):
        generate_sample_world(other, TINY)
    generate_sample_world(other, TINY, overwrite=True)
    assert _hashes(other) == _hashes(world)


def test_contact_sheet_is_written(world: Path, tmp_path: Path) -> None:
    out = render_contact_sheet(
        world / "manifest.csv", world, tmp_path / "sheet.png", per_landmark=3, n_landmarks=2
    )
    sheet = load_rgb(out)
    assert sheet.size[0] > 3 * 90 and sheet.size[1] >= 3 * 96  # 2 landmark rows + 1 non-landmark row
    assert np.asarray(sheet).std() > 20.0


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_default_world_landmarks_cities_and_difficulty() -> None:
    specs = make_landmark_specs(30, 17)
    assert len({s.name for s in specs}) == 30
    by_city: dict[str, list[tuple[float, float]]] = {}
    for s in specs:
        by_city.setdefault(s.city, []).append((s.lat, s.lon))
    assert len(by_city) == 8 and all(len(v) >= 3 for v in by_city.values())
    for places in by_city.values():
        assert max(_km(a, b) for a in places for b in places) < 10.0
    centres = [v[0] for v in by_city.values()]
    assert min(_km(a, b) for i, a in enumerate(centres) for b in centres[i + 1 :]) > 300.0
    assert {s.trait for s in specs} == {"distinctive", "normal", "variable", "twin", "plain"}
    twins = [s for s in specs if s.trait == "twin"]
    for first, second in zip(twins[::2], twins[1::2], strict=True):
        assert first.archetype == second.archetype and first.city == second.city
    assert min(s.difficulty for s in specs) < 0.25 < 0.6 < max(s.difficulty for s in specs)


def test_photos_of_one_view_resemble_each_other_more_than_other_views() -> None:
    """Leave-one-out 1-NN on 8x8 colour thumbnails finds the right (landmark, view) well above chance."""
    specs = [s for s in make_landmark_specs(12, 5) if s.trait in ("distinctive", "normal")][:4]
    cache = ViewCache(specs, 96)
    feats, labels = [], []
    for spec in specs:
        for view in spec.viewpoints[:2]:
            for k in range(5):
                photo = landmark_photo(
                    spec, view, cache.get(spec.index, view), 48, np.random.default_rng([k, 1])
                )
                feats.append(np.asarray(photo.resize((8, 8)), dtype=np.float32).ravel())
                labels.append((spec.index, view))
    x = np.stack(feats)
    x = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6)
    dist = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1) + np.eye(len(x)) * 1e9
    hits = [labels[int(np.argmin(dist[i]))] == labels[i] for i in range(len(x))]
    assert np.mean(hits) > 0.5  # chance is 1/8
