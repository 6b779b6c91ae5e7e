"""The Recognizer on hand-made embeddings: threshold, geo filter, save/load (no network needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landmark.retrieval.centroids import l2_normalise
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.threshold import Threshold


def _recognizer() -> Recognizer:
    index = CentroidIndex.build(
        np.eye(3, dtype=np.float32), np.array(["colosseum", "eiffel", "pantheon"], dtype=object)
    )
    table = pd.DataFrame(
        {
            "landmark": ["colosseum", "eiffel", "pantheon"],
            "lat": [41.8902, 48.8584, np.nan],
            "lon": [12.4922, 2.2945, np.nan],
            "city": ["Rome", "Paris", ""],
        }
    )
    return Recognizer(None, index, Threshold(0.6, 0.01, {"0.01": 0.6}), table, geo_radius_km=50.0)


def test_threshold_and_no_landmark() -> None:
    rec = _recognizer()
    q = l2_normalise(np.array([[0.9, 0.1, 0.0], [0.5, 0.5, 0.45], [0.0, 0.0, 1.0]]))
    preds = rec.predict_embeddings(q)
    assert preds[0].landmark == "colosseum" and preds[0].city == "Rome" and preds[0].confidence > 0.5
    assert preds[1].landmark is None and preds[1].candidate is not None and preds[1].confidence < 0.5
    assert preds[2].landmark == "pantheon" and preds[2].city is None
    assert preds[2].similarity == pytest.approx(1.0)


def test_geo_filter_changes_the_answer() -> None:
    rec = _recognizer()
    q = l2_normalise(np.array([[0.9, 0.8, 0.0]]))  # nearer colosseum, eiffel close behind
    assert rec.predict_embeddings(q)[0].landmark == "colosseum"
    in_paris = rec.predict_embeddings(q, [(48.86, 2.29)])[0]
    assert in_paris.landmark == "eiffel" and in_paris.city == "Paris"
    # in Tokyo neither is allowed, but pantheon has no coordinates: it stays a (weak) candidate
    tokyo = rec.predict_embeddings(q, [(35.68, 139.69)])[0]
    assert tokyo.candidate == "pantheon" and tokyo.landmark is None
    with pytest.raises(ValueError):
        rec.predict_embeddings(q, [None, None])


def test_save_load(tmp_path: Path) -> None:
    rec = _recognizer()
    rec.save(tmp_path, extra={"note": "x"})
    assert {p.name for p in tmp_path.iterdir()} >= {
        "index.faiss",
        "centroids.csv",
        "index.json",
        "landmarks.csv",
    }
    again = Recognizer.load(tmp_path)
    q = l2_normalise(np.array([[0.9, 0.8, 0.0]]))
    assert again.threshold == rec.threshold
    assert again.predict_embeddings(q, [(48.86, 2.29)])[0].landmark == "eiffel"
    with pytest.raises(RuntimeError):
        again.embed([])


def _with_view(weight: float) -> Recognizer:
    """_recognizer() with a 2-d frozen view: colosseum's database photos point one way, eiffel's and
    pantheon's the other."""
    from landmark.retrieval.frozen_view import FrozenView, ViewScore

    view = FrozenView.build(np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], dtype=np.float32),
                            np.array(["colosseum", "colosseum", "eiffel", "pantheon"]))
    rec = _recognizer()
    rec.view = ViewScore(view, weight, 1, 2)
    return rec


def test_the_frozen_view_rescoring_and_its_save_load(tmp_path: Path) -> None:
    rec = _with_view(0.5)
    q = l2_normalise(np.array([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0]]))
    rows = np.hstack([q, np.array([[1.0, 0.0], [0.0, 1.0]])])  # same embedding, frozen views apart
    agree, disagree = rec.predict_embeddings(rows)
    assert agree.candidate == disagree.candidate == "colosseum"
    assert agree.score == pytest.approx((agree.similarity + 0.5 * 1.0) / 1.5, abs=1e-6)
    nearest = 0.1 / np.hypot(1, 0.1)  # cosine of [0, 1] to colosseum's nearest photo, [1, 0.1]
    assert disagree.score == pytest.approx((disagree.similarity + 0.5 * nearest) / 1.5, abs=1e-6)
    assert agree.landmark == "colosseum" and (agree.score or 0.0) > (disagree.score or 0.0)
    with pytest.raises(ValueError, match="frozen view"):
        rec.predict_embeddings(q[:, :2])  # rows without the view's columns
    rec.save(tmp_path)
    again = Recognizer.load(tmp_path)
    assert again.view is not None and again.view.weight == 0.5
    assert [p.score for p in again.predict_embeddings(rows)] == pytest.approx([agree.score, disagree.score], abs=1e-3)
    (tmp_path / "frozen_view.npz").unlink()
    with pytest.raises(ValueError, match="must come together"):
        Recognizer.load(tmp_path)
