"""`landmark recognize` and `landmark albums` through the typer app (CliRunner), on a tiny recognizer
built in tmp_path: a generated 3-landmark world at 64 px, the ImageNet lite0 backbone (pooled features,
no neck) saved with save_embedder, a flat faiss index of its centroids and a threshold calibrated on
non-landmark photos. Real timm, ONNX Runtime and faiss; no mocks.

Exit codes (landmark.cli.recognize): 0 all photos answered, 1 some unreadable (error rows), 2 usage.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from landmark.cli.main import app
from landmark.data.manifest import NON_LANDMARK, read_manifest
from landmark.models.checkpoint import save_embedder
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed
from landmark.params import SampleParams, load_params
from landmark.retrieval.build import build_index, calibrate_index
from landmark.retrieval.recognizer import Recognizer, landmark_table
from samples.world import generate_sample_world
from tests.integration.tiny_project import REPO

pytestmark = pytest.mark.integration
TINY_WORLD = SampleParams(
    seed=5,
    n_landmarks=3,
    photos_per_landmark=6,
    image_size=64,
    mislabel_fraction=0.0,
    mislabel_non_landmark_share=0.0,
    n_non_landmark=16,
    ordinary_building_share=0.4,
    workers=1,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The saved recognizer (index + model.pt) and chosen photos: a recognised landmark photo, a
    rejected non-landmark, and a photo folder for albums."""
    root = tmp_path_factory.mktemp("recognize_cli")
    generate_sample_world(root / "data", TINY_WORLD)
    manifest = read_manifest(root / "data" / "manifest.csv")
    params = load_params(REPO / "params.yaml")
    model = create_embedder(dataclasses.replace(params.backbone, embed_dim=0, image_size=64))
    save_embedder(model, root / "model.pt")
    landmarks = manifest[manifest["landmark"] != NON_LANDMARK].reset_index(drop=True)
    negatives = manifest[manifest["landmark"] == NON_LANDMARK].reset_index(drop=True)
    db = embed(model, [root / "data" / p for p in landmarks["path"]], preprocessing="timm", workers=0, batch_size=32)
    neg = embed(model, [root / "data" / p for p in negatives["path"]], preprocessing="timm", workers=0, batch_size=32)
    index = build_index(db, landmarks["landmark"].to_numpy(dtype=object), params.index)
    threshold = calibrate_index(index, neg, params.index)
    Recognizer(model, index, threshold, landmark_table(manifest)).save(root / "index")
    rec = Recognizer.load(root / "index", root / "model.pt", backend="torch")
    sims = np.array([p.similarity for p in rec.predict_embeddings(db)])
    hit = int(np.argmax(sims))  # the most typical database photo: recognised (checked in the test)
    miss = int(np.argmin([p.similarity for p in rec.predict_embeddings(neg)]))
    album = root / "album" / "trip"
    album.mkdir(parents=True)
    chosen = [*landmarks["path"].iloc[::3], *negatives["path"].iloc[:4]]
    for path in chosen:
        shutil.copy(root / "data" / path, album / Path(path).name)
    return {
        "root": root,
        "index": root / "index",
        "model": root / "model.pt",
        "landmark_photo": root / "data" / landmarks["path"].iloc[hit],
        "landmark_name": str(landmarks["landmark"].iloc[hit]),
        "other_photo": root / "data" / negatives["path"].iloc[miss],
        "album": root / "album",
    }


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_recognize_json_errors_and_table(world: dict[str, Any]) -> None:
    missing = world["root"] / "no_such_photo.jpg"
    text = world["root"] / "notes.jpg"
    text.write_text("this is not a photo\n")
    photos = [world["landmark_photo"], world["other_photo"], missing, text, world["root"]]
    common = ["--index", world["index"], "--model", world["model"]]
    code, out, _ = _invoke("recognize", *photos, *common, "--backend", "fp32", "--json")
    assert code == 1  # some photos unreadable; the others still answered
    rows = json.loads(out)
    assert [r["photo"] for r in rows] == [str(p) for p in photos]
    assert rows[0]["landmark"] == world["landmark_name"] and rows[0]["confidence"] > 0.5
    assert rows[0]["error"] is None and rows[0]["city"]
    assert rows[1]["landmark"] is None and rows[1]["error"] is None and rows[1]["confidence"] < 0.5
    assert "not found" in rows[2]["error"] and str(missing) in rows[2]["error"]
    assert "not a decodable image" in rows[3]["error"] and str(text) in rows[3]["error"]
    assert "folder" in rows[4]["error"] and rows[4]["landmark"] is None

    # the fast path answers as the torch reference does
    torch_rows = json.loads(_invoke("recognize", *photos[:2], *common, "--backend", "torch", "--json")[1])
    for fast, ref in zip(rows[:2], torch_rows, strict=True):
        assert fast["landmark"] == ref["landmark"] and fast["similarity"] == pytest.approx(ref["similarity"], abs=1e-3)

    code, out, _ = _invoke("recognize", *photos[:2], *common)  # table, default backend (auto)
    assert code == 0
    assert world["landmark_name"] in out and "no landmark" in out and "backend: fp32" in out

    code, _, err = _invoke("recognize", photos[0], "--index", world["root"], "--model", world["model"])
    assert code == 2 and "no index.json" in err
    code, _, err = _invoke("recognize", photos[0], *common, "--backend", "int8")
    assert code == 2 and "int8" in err  # never built for this model


def test_albums_json_and_html(world: dict[str, Any], tmp_path: Path) -> None:
    (world["album"] / "trip" / "broken.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "albums"
    args = ["albums", world["album"], "--out", out, "--index", world["index"], "--model", world["model"]]
    code, _, err = _invoke(*args, "--batch-size", "4")
    assert code == 1 and "could not be read" in err
    albums = json.loads((out / "albums.json").read_text())
    photos = sorted(str(p.relative_to(world["album"])) for p in world["album"].rglob("*.*"))
    grouped = [e["photo"] for lm in albums["cities"].values() for es in lm.values() for e in es]
    rejected = [e["photo"] for e in albums["no_landmark"]]
    assert sorted(grouped + rejected + [e["photo"] for e in albums["errors"]]) == photos
    assert [e["photo"] for e in albums["errors"]] == ["trip/broken.png"]
    assert albums["counts"]["photos"] == len(photos) and albums["counts"]["albums"] >= 1
    for city, by_landmark in albums["cities"].items():
        for name, entries in by_landmark.items():
            assert albums["landmarks"][name]["city"] == city
            assert albums["landmarks"][name]["photos"] == [e["photo"] for e in entries]
    page = (out / "albums.html").read_text()
    for photo in photos:
        assert photo in page, photo
    thumbs = sorted((out / "thumbs").glob("*.jpg"))  # thumbnails beside the page, not the broken file
    assert len(thumbs) == len(photos) - 1 and page.count("loading='lazy'") == len(photos) - 1
    assert "trip/broken.png" in page and "{'photos'" not in page  # listed as unreadable; no dict as summary
